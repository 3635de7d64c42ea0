"""Which statements no pass reacts to (skipped by the traversal), found from the source text
and CPython's tree: names any pass reacts to, statement spans, the word index of a file."""

from __future__ import annotations

import ast
import bisect
import re

import libcst as cst

from .passes.common.context import Context
from .passes.torch_to_tf.dtype_promotion import promotion_names
from .passes.torch_to_tf.torch_attributes import TORCH_ATTRIBUTES
from .passes.torch_to_tf.weight_presence import WEIGHT_NAMES
from .rules import RuleSet

CLASS_NAME = re.compile(r"\bclass\s+(\w+)")
SELF_ATTR = re.compile(r"\bself\.(\w+)\s*(?::[^=\n]*)?=(?!=)")


# names any pass reacts to besides the framework's own and the rules' method/attribute names
_STRUCTURAL_NAMES = frozenset(
    {
        "training",
        "forward",
        "register_buffer",
        "register_parameter",
        "add_module",
        "super",
        "train",  # statements.py: `model.train()` as a statement is dropped
        "backward",  # training_step.py: the training step becomes a gradient tape
        "zero_grad",
    }  # containers.py: `super().__init__(*layers)` of a Sequential subclass
    | WEIGHT_NAMES
    | TORCH_ATTRIBUTES
)  # `m.bias is not None`, `m.out_features`


def interesting_names(ctx: Context, source: str, variable: set[str] | None = None) -> set[str]:
    names = set(ctx.imports.bindings) | rule_names(ctx.rules) | mutation_names(source) | arithmetic_names(source)
    if ctx.imports.star_modules:
        names |= ctx.imports.star_free
    # `self.count += 1` updates a buffer
    names |= variable_attributes(source) if variable is None else variable
    return names


def rule_names(rules: RuleSet) -> set[str]:
    names = set(rules.methods) | set(rules.members) | _STRUCTURAL_NAMES
    names |= {f"{m}_" for m in rules.methods}  # in-place forms: x.add_(y)
    # methods declared not translated are reported where used
    names |= {n.split(".", 1)[1] for n in rules.untranslated if n.startswith("Tensor.")}
    return names


# `x.fill_(v)` (an in-place method, with or without a rule: reported when it has none) and
# `y[i] = v` (item assignment, reported on a tensor): the statements naming them are visited
_INPLACE_CALL = re.compile(r"\.\s*([A-Za-z]\w*[A-Za-z0-9]_)\s*\(")
_ITEM_ASSIGN = re.compile(r"^[ \t]*([A-Za-z_]\w*)\s*\[[^\n]*\]\s*(?:[-+*/%@&|^]|//|\*\*|<<|>>)?=(?!=)", re.MULTILINE)


def mutation_names(source: str) -> set[str]:
    return set(_INPLACE_CALL.findall(source)) | set(_ITEM_ASSIGN.findall(source))


def arithmetic_names(source: str) -> set[str]:
    """Names whose arithmetic a pass may rewrite (dtype_promotion.py: integer tensors)."""
    return promotion_names(source)


def sublayer_attributes(self_attrs: frozenset[str], variable: set[str], rules: RuleSet) -> frozenset[str]:
    return frozenset(
        self_attrs - _STRUCTURAL_NAMES - variable - {n for n, r in rules.methods.items() if r.is_module_member}
    )


def variable_attributes(source: str) -> set[str]:
    return {n for pair in _VARIABLE_ATTR.findall(source) for n in pair if n}


# attributes that become keras.Variables: registered buffers/parameters, nn.Parameter(...)
_VARIABLE_ATTR = re.compile(r"register_(?:buffer|parameter)\(\s*[\"'](\w+)|\bself\.(\w+)\s*=\s*[\w.]*Parameter\(")


def statement_spans(module: cst.Module, source: str, tree: ast.Module | None = None) -> dict[int, tuple[int, int]]:
    """id(CST statement) -> (first line, decorators included; last line) for the top-level
    statements and, recursively, those in the blocks of compound statements; from CPython's own
    parser (C code, much cheaper than LibCST's position metadata)."""
    spans: dict[int, tuple[int, int]] = {}
    _match_spans(module.body, (tree if tree is not None else ast.parse(source)).body, spans)
    return spans


def _match_spans(cst_body, ast_body: list, spans: dict[int, tuple[int, int]]) -> None:
    i = 0
    for stmt in cst_body:
        if i >= len(ast_body):
            break
        # `a = 1; b = 2` is one CST line and two ast statements
        count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        first, last = ast_body[i], ast_body[i + count - 1]
        start = min([first.lineno] + [d.lineno for d in getattr(first, "decorator_list", [])])
        spans[id(stmt)] = (start, last.end_lineno or start)
        for cst_block, ast_block in zip(cst_blocks(stmt), ast_blocks(first)):
            _match_spans(cst_block, ast_block, spans)
        i += count


def cst_blocks(stmt) -> list:
    """The statement lists of a compound statement, in the order of ast_blocks."""

    def body(node) -> list:
        return list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []

    if hasattr(stmt, "fwt_stand_in"):
        return []  # a stand-in's skeleton (stand_ins.py): its text is all there is
    if isinstance(stmt, (cst.ClassDef, cst.FunctionDef, cst.With)):
        return [body(stmt)]
    if isinstance(stmt, (cst.For, cst.While)):
        return [body(stmt), body(stmt.orelse) if stmt.orelse else []]
    if isinstance(stmt, cst.If):
        orelse = stmt.orelse
        return [body(stmt), [orelse] if isinstance(orelse, cst.If) else body(orelse) if orelse else []]
    if isinstance(stmt, cst.Try):
        return [
            body(stmt),
            *(body(h) for h in stmt.handlers),
            body(stmt.orelse) if stmt.orelse else [],
            body(stmt.finalbody) if stmt.finalbody else [],
        ]
    return []


def ast_blocks(node) -> list:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.With)):
        return [node.body]
    if isinstance(node, (ast.For, ast.While, ast.If)):
        return [node.body, node.orelse]
    if isinstance(node, ast.Try):
        return [node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody]
    return []


WORD = re.compile(r"[A-Za-z_]\w*")
# Docstrings (triple-quoted, not f-strings, which hold code) and comments: their words are no
# code. One-line strings are matched so that a `#` inside one is not taken for a comment, and
# kept: a forward-reference annotation "torch.Tensor" is one.
_Q3 = "\"\"\"[\\s\\S]*?\"\"\"|'''[\\s\\S]*?'''"
# (the leading lookahead only filters: every match starts with one of those characters, and
# it lets the regex engine skip the other positions fast: 2-3 times faster)
_CODE_ONLY = re.compile(
    r"(?=[rRbBuUfF\"'#])(?:"
    r"(?P<fstring>(?<!\w)[rR]?[fF][rR]?(?:" + _Q3 + r"))"
    r"|(?P<blank>(?<!\w)[rRbBuU]{0,2}(?:" + _Q3 + r")|#[^\n]*)"
    r"|(?P<keep>(?<!\w)[rRbBuUfF]{0,2}(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')))"
)
_NOT_NEWLINE = re.compile(r"[^\n]")
_SELF_ATTRIBUTE = re.compile(r"\bself\.(\w+)")


def _blank(match: re.Match) -> str:
    if match.group("blank") is None:
        return match.group()
    return _NOT_NEWLINE.sub(" ", match.group())  # keep the line structure


def untouched_statements(
    module: cst.Module,
    source: str,
    spans: dict[int, tuple[int, int]],
    interesting: set[str],
    sublayers: frozenset[str] = frozenset(),
    words: Words | None = None,
) -> frozenset[int]:
    """Statements whose text mentions no name any pass or rule reacts to.

    Visiting a subtree costs about as much as parsing it, and model files carry large
    framework-free parts (weight enums, docs, factories, `x = self.block(x)` lines): a regex
    over each statement's lines finds them, at the top level and inside classes and
    functions. A false hit (the word in a comment) only costs a visit. A class deriving from
    a class that is translated is visited too. ``self.<sublayer>`` names (attributes the file
    assigns) are no Tensor methods, whatever they are called.
    """
    hits = Hits(words if words is not None else Words(source, sublayers), interesting)
    untouched: set[int] = set()
    _check_untouched(module.body, spans, hits, untouched)
    return frozenset(untouched)


# (module-level recursions, not closures: a closure that calls itself is a reference cycle,
# which keeps the trees it reaches alive until the next full garbage collection)
def _check_untouched(body, spans: dict[int, tuple[int, int]], hits: Hits, untouched: set[int]) -> None:
    for stmt in body:
        span = spans.get(id(stmt))
        if span is None:
            continue
        if not hits.within(*span):
            untouched.add(id(stmt))
            continue
        if isinstance(stmt, cst.ClassDef):
            hits.add(stmt.name.value)
        for block in cst_blocks(stmt):
            _check_untouched(block, spans, hits, untouched)


class Words:
    """The lines where each word of a file's code occurs (docstrings and comments blanked,
    ``self.<sublayer>`` read as ``self``), lines as ``str.splitlines`` counts them. Indexed
    up front: the words of ``vocabulary`` (all when None); any other on demand."""

    def __init__(self, source: str, sublayers: frozenset[str] = frozenset(), vocabulary: set[str] | None = None):
        code = _CODE_ONLY.sub(_blank, source)
        if sublayers:
            code = _SELF_ATTRIBUTE.sub(lambda m: "self" if m.group(1) in sublayers else m.group(), code)
        self.code_lines = code.splitlines(keepends=True)
        self.vocabulary = vocabulary
        self.lines: dict[str, list[int]] = {}
        for number, line in enumerate(self.code_lines, 1):
            words = set(WORD.findall(line))
            for word in words if vocabulary is None else words & vocabulary:
                self.lines.setdefault(word, []).append(number)

    def lines_of(self, word: str) -> list[int]:
        if self.vocabulary is not None and word not in self.vocabulary:
            self.vocabulary = self.vocabulary | {word}
            self.lines[word] = [n for n, line in enumerate(self.code_lines, 1) if word in WORD.findall(line)]
        return self.lines.get(word, [])


class Hits:
    """The lines holding one of a growing set of names (``names`` itself grows)."""

    def __init__(self, words: Words, names: set[str]):
        self.words, self.names = words, names
        for name in names - words.vocabulary if words.vocabulary is not None else ():
            words.lines_of(name)  # not indexed yet
        found: set[int] = set()
        for name in words.lines.keys() & names:
            found.update(words.lines[name])
        self.sorted = sorted(found)

    def within(self, first: int, last: int) -> bool:
        """Does a line in first..last hold one of the names?"""
        i = bisect.bisect_left(self.sorted, first)
        return i < len(self.sorted) and self.sorted[i] <= last

    def add(self, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            for line in self.words.lines_of(name):
                bisect.insort(self.sorted, line)
