"""parse -> analyze -> rewrite -> emit -> report, for one source text.

The passes share a single LibCST traversal (see passes/base.py): translation speed is judged
against a bare parse + codegen (benchmarks/translate_speed.py), and every extra walk of the
tree costs about one parse. What keeps it cheap, none of it visible in the output:
- statements that mention no name a pass reacts to are skipped (_untouched_statements), and
  most are not even parsed: stand-ins (_plan_stand_ins);
- the traversal (_Driver.walk) keeps the nodes nothing changed instead of copying them, and
  does not enter subtrees where no handler can act (whitespace, commas...);
- diagnostics get positions from the innermost statement that holds them (_locate).
"""
from __future__ import annotations

import ast
import bisect
import dataclasses
import gc
import re
import threading
from dataclasses import dataclass, field
from typing import Callable, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from . import suppress
from .cstutil import opaque_types, walk
from .directions import Direction
from .imports import ImportMap, free_globals
from .passes import PASSES_BY_DIRECTION
from .passes.context import Context
from .roundtrip import recognise_support
from .passes.scopes import ScopeTracker
from .passes.torch_attributes import TORCH_ATTRIBUTES
from .passes.weight_presence import WEIGHT_NAMES
from .report import ERROR, Diagnostic
from .rules import RuleSet


class TranslationError(Exception):
    """Bad input: nothing was translated (syntax error, undecodable text...)."""

    def __init__(self, message: str, line: int = 0, col: int = 0):
        super().__init__(message)
        self.line, self.col = line, col


@dataclass
class RewriteResult:
    code: str
    diagnostics: list[Diagnostic]
    framework_locals: set[str] = field(default_factory=set)  # names bound to the source framework
    kept_locals: set[str] = field(default_factory=set)  # of those, the ones the output still uses


class _Driver(cst.CSTTransformer):
    """Dispatches each visit/leave to the passes' handlers, in pass order."""

    def __init__(self, ctx: Context, passes: Iterable, untouched: frozenset[int] = frozenset(),
                 record: dict[int, object] | None = None):
        super().__init__()
        self.ctx = ctx
        self.untouched = untouched  # ids of statements with nothing to translate: not visited
        self.record = record  # id(node) -> its result, for the ids it holds (see _unparsable_spans)
        self._visit: dict[str, list[Callable]] = {}
        self._leave: dict[str, list[Callable]] = {}
        for p in passes:
            for attr in dir(type(p)):
                if attr.startswith("visit_"):
                    self._visit.setdefault(attr[6:], []).append(getattr(p, attr))
                elif attr.startswith("leave_"):
                    self._leave.setdefault(attr[6:], []).append(getattr(p, attr))
        # the scope tracker pops its stacks after every other pass has left the node, always
        self._scope_leave: dict[str, list[Callable]] = {}
        for key, handlers in self._leave.items():
            self._scope_leave[key] = [h for h in handlers if isinstance(h.__self__, ScopeTracker)]
            handlers[:] = [h for h in handlers if not isinstance(h.__self__, ScopeTracker)]
        # node types whose leave needs more than the pop of the parents stack
        self._leaving = frozenset(k for k in (*self._leave, *self._scope_leave)
                                  if self._leave.get(k) or self._scope_leave.get(k))
        self._opaque = opaque_types(frozenset(self._visit) | self._leaving)
        # opaque types without handlers of their own: visiting them does nothing at all
        self._inert = self._opaque - frozenset(self._visit) - self._leaving

    def walk(self, module: cst.Module) -> cst.Module:
        """``module.visit(self)``, without copying the nodes nothing changed (cstutil.walk)."""
        return walk(module, self, self._inert, self._leaving)  # type: ignore[return-value]

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.ctx.parents.append(node)  # popped in on_leave, which LibCST calls even when we skip
        if id(node) in self.untouched:
            return False
        kind = type(node).__name__
        if kind in _STAND_IN_KINDS:
            raise _SpliceError("a pass would visit a stand-in")
        for handler in self._visit.get(kind, ()):
            if handler(node) is False:
                return False
        # nothing below this node has a handler (whitespace, commas, a Name's parentheses...):
        # LibCST would only rebuild an equal copy of the subtree, node by node
        return kind not in self._opaque

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        kind = type(original).__name__
        if kind not in self._leaving or id(original) in self.untouched:
            self.ctx.parents.pop()
            if self.record is not None and id(original) in self.record:
                self.record[id(original)] = updated
            return updated
        result = updated
        for handler in self._leave.get(kind, ()):
            result = handler(original, result)
            if not isinstance(result, type(original)):
                break  # replaced by another kind of node (or removed): later handlers don't apply
        for handler in self._scope_leave.get(kind, ()):
            handler(original, original)
        self.ctx.parents.pop()
        if self.record is not None and id(original) in self.record:
            self.record[id(original)] = result
        return result

    # attribute-level hooks are unused: skip LibCST's per-attribute getattr dispatch
    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        return None

    def on_leave_attribute(self, original_node: cst.CSTNode, attribute: str) -> None:
        return None


_CLASS_NAME = re.compile(r"\bclass\s+(\w+)")
_SELF_ATTR = re.compile(r"\bself\.(\w+)\s*(?::[^=\n]*)?=(?!=)")


def rewrite(source: str, path: str, direction: Direction, rules: RuleSet) -> RewriteResult:
    """The translation of ``source``. Every entry (the API, the command, folders, hooks,
    --with-deps) comes here: the input guard (guard.py) runs first, and the output is checked
    to parse. A statement whose translation does not parse (201 chained ``.view(-1)`` become
    201 nested calls, over CPython's limit of 200) is left unconverted, with an
    ``output-syntax`` error; an output that still does not parse raises TranslationError."""
    from . import guard

    if source.startswith("\ufeff"):
        source = source[1:]  # a byte-order mark (decoded as utf-8, not utf-8-sig): CPython refuses it
    guard.check_parsable(source, path)
    try:
        result = _translate(source, path, direction, rules)
        if result.code != source:
            error = _output_error(result.code, path)
            if error is not None:
                result = _keep_unparsable(source, path, direction, rules, error)
        return result
    except SyntaxError as err:  # LibCST parsed what CPython does not (the spans come from CPython)
        raise TranslationError(f"syntax error: {err.msg}", err.lineno or 0, err.offset or 1) from None
    finally:
        guard.forget()


def _translate(source: str, path: str, direction: Direction, rules: RuleSet) -> RewriteResult:
    plan = _plan_stand_ins(source, direction, rules, PASSES_BY_DIRECTION.get(direction.name, ()))
    if plan is not None:
        try:
            return _rewrite(source, path, direction, rules, plan)
        except _SpliceError:
            pass  # a stand-in was needed after all (rare): translate the whole tree
    return _rewrite(source, path, direction, rules, None)


def _output_error(code: str, path: str) -> tuple[str, int] | None:
    """(message, line) when ``code`` is no Python that CPython parses; None when it is."""
    try:
        compile(code, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:
        return err.msg, err.lineno or 0
    except (RecursionError, MemoryError):
        return "the code is nested too deeply", 0
    except ValueError as err:
        return str(err), 0
    return None


def _keep_unparsable(source: str, path: str, direction: Direction, rules: RuleSet,
                     error: tuple[str, int]) -> RewriteResult:
    """The translation again, with the innermost statements whose translation does not parse on
    its own left as they are (and an error on each); TranslationError when that does not help."""
    spans = _unparsable_spans(source, path, direction, rules)
    if spans:
        result = _rewrite(source, path, direction, rules, None, keep=(spans, error[0]))
        if _output_error(result.code, path) is None:
            return result
        error = _output_error(result.code, path) or error
    where = f" (line {error[1]} of the output)" if error[1] else ""
    raise TranslationError(f"[output-syntax] the translation is not valid Python: {error[0]}{where}; "
                           "nothing written")


def _unparsable_spans(source: str, path: str, direction: Direction, rules: RuleSet) -> set[tuple[int, int]]:
    """The spans of the innermost statements whose translation alone does not parse."""
    found: list[tuple[int, int]] = []
    _rewrite(source, path, direction, rules, None, found=found)
    found.sort(key=lambda span: (span[0], -span[1]))
    return {s for s in found if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in found)}


def _rewrite(source: str, path: str, direction: Direction, rules: RuleSet, plan: _Plan | None,
             keep: tuple[set[tuple[int, int]], str] | None = None,
             found: list[tuple[int, int]] | None = None) -> RewriteResult:
    """The translation; with a plan, of a tree where framework-free classes, functions and lines
    are stand-ins (see _plan_stand_ins) that cost next to nothing to parse, skip and emit."""
    try:
        module = cst.parse_module(source if plan is None else plan.reduced)
    except cst.ParserSyntaxError as exc:
        if plan is not None:
            raise _SpliceError("the reduced source does not parse") from None
        raise _syntax_error(source, path, exc) from None
    if plan is not None:
        module = _install_stand_ins(module, plan)
    faults = _fault_count()  # stand-ins emitted out of place from here on: translate whole
    imports = ImportMap.from_module(module, direction.source_roots,
                                    direction.canonical if direction.canonical_prefixes else None)
    if imports.star_modules:
        imports.star_free = free_globals(source)
    star_names = frozenset(rules.calls) | frozenset(rules.attributes) if imports.star_modules else frozenset()
    ctx = Context(path=path, direction=direction, rules=rules, imports=imports, star_names=star_names,
                  self_attrs=plan.self_attrs if plan is not None else frozenset(_SELF_ATTR.findall(source)))
    if not imports.framework_imports:
        return RewriteResult(source, [])  # no framework code: unchanged
    ctx.target_imports.update(direction.target_imports)
    ctx.suppressed = suppress.checker(module, source)  # `# fwtranslate: ignore[RULE]` comments
    ctx.dropped = recognise_support(module, source, direction.name, imports)  # round trips
    passes = PASSES_BY_DIRECTION[direction.name]
    spans = _statement_spans(module, source, plan.tree if plan is not None else None)
    if plan is not None:
        plan.tree = None  # type: ignore[assignment]  # a tree as big as the file's: not kept
    variable = plan.variable if plan is not None else _variable_attributes(source)
    interesting = _interesting_names(ctx, source, variable)
    # `self.relu(x)` calls a sub-layer, not Tensor.relu: such attributes say nothing
    sublayers = _sublayers(ctx.self_attrs, variable, rules)
    untouched = _untouched_statements(module, source, spans, interesting, sublayers,
                                      plan.words if plan is not None else None)
    if plan is not None:
        _check_stand_ins_untouched(module, untouched)
    instances = [p(ctx) for p in passes]
    for instance in instances:  # a pass that analyses the file first names what it must visit
        prepare = getattr(instance, "prepare", None)
        if prepare is not None:
            untouched = untouched - prepare(module)
    untouched = untouched | frozenset(ctx.dropped)  # our own support code: left out whole
    kept: list[cst.CSTNode] = []
    if keep is not None:  # statements whose translation would not parse: as they are
        kept = _kept_statements(module, spans, keep[0])
        untouched = untouched | frozenset(id(s) for s in kept)
        names = set(imports.bindings)
        for first, last in keep[0]:  # their framework names keep their imports
            ctx.still_used.update(names.intersection(_WORD.findall("\n".join(source.splitlines()[first - 1:last]))))
    record = None if found is None else dict.fromkeys(spans)
    new_module = _Driver(ctx, instances, untouched, record).walk(module)
    if found is not None:
        found.extend(_failing_spans(module, spans, record))  # type: ignore[arg-type]
    if plan is not None and any(isinstance(s, _StandInClass) and s.name.value in ctx.module_classes
                                for s in module.body):
        raise _SpliceError("a stand-in class shares its name with a model class")
    diagnostics = _locate(module, ctx, path, spans, source)
    if kept:
        new_module, extra = _mark_kept(new_module, kept, spans, source, path, keep[1])  # type: ignore[index]
        diagnostics = sorted(diagnostics + extra, key=lambda d: (d.line, d.col, d.severity != ERROR))
    code = new_module.code
    if plan is not None and _fault_count() != faults:
        raise _SpliceError("a stand-in was moved or changed")
    return RewriteResult(code, diagnostics, set(imports.bindings), set(ctx.still_used))


def _kept_statements(module: cst.Module, spans: dict[int, tuple[int, int]], keep: set) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    stack = list(module.body)
    while stack:
        stmt = stack.pop()
        if spans.get(id(stmt)) in keep:
            found.append(stmt)
            continue
        for block in _cst_blocks(stmt):
            stack.extend(block)
    return found


def _failing_spans(module: cst.Module, spans: dict[int, tuple[int, int]], record: dict) -> list[tuple[int, int]]:
    """The spans of the statements whose translation (in ``record``) does not parse alone."""
    out = []
    stack = list(module.body)
    while stack:
        stmt = stack.pop()
        result = record.get(id(stmt))
        if result is None or result is stmt:
            continue  # not visited, or unchanged: parsed as the source did
        stack.extend(s for block in _cst_blocks(stmt) for s in block)
        parts = result.nodes if isinstance(result, cst.FlattenSentinel) else (
            [] if isinstance(result, cst.RemovalSentinel) else [result])
        code = "".join(module.code_for_node(p) for p in parts)
        if _output_error(code, "<statement>") is not None:
            out.append(spans[id(stmt)])
    return out


def _mark_kept(module: cst.Module, kept: list, spans: dict[int, tuple[int, int]], source: str, path: str,
               message: str) -> tuple[cst.Module, list[Diagnostic]]:
    """The kept statements with an ``unconverted`` marker above them, and their diagnostics."""
    lines = source.splitlines()
    text = f"its translation is not valid Python ({message}); left as it is"
    out = []
    for stmt in kept:
        first = spans[id(stmt)][0]
        line = lines[first - 1] if 0 < first <= len(lines) else ""
        out.append(Diagnostic(path, first, len(line) - len(line.lstrip(" \t")) + 1, ERROR, "output-syntax", text))
        marker = cst.EmptyLine(comment=cst.Comment(f"# fwtranslate: unconverted [output-syntax] {text}"))
        module = module.deep_replace(stmt, stmt.with_changes(leading_lines=[*stmt.leading_lines, marker]))
    return module, out


# names any pass reacts to besides the framework's own and the rules' method/attribute names
_STRUCTURAL_NAMES = frozenset({"training", "forward", "register_buffer", "register_parameter", "add_module",
                               "super"}  # containers.py: `super().__init__(*layers)` of a Sequential subclass
                              | WEIGHT_NAMES | TORCH_ATTRIBUTES)  # `m.bias is not None`, `m.out_features`


def _interesting_names(ctx: Context, source: str, variable: set[str] | None = None) -> set[str]:
    names = set(ctx.imports.bindings) | _rule_names(ctx.rules)
    if ctx.imports.star_modules:
        names |= ctx.imports.star_free
    # `self.count += 1` updates a buffer
    names |= _variable_attributes(source) if variable is None else variable
    return names


def _rule_names(rules: RuleSet) -> set[str]:
    names = set(rules.methods) | set(rules.members) | _STRUCTURAL_NAMES
    names |= {f"{m}_" for m in rules.methods}  # in-place forms: x.add_(y)
    return names


def _sublayers(self_attrs: frozenset[str], variable: set[str], rules: RuleSet) -> frozenset[str]:
    return frozenset(self_attrs - _STRUCTURAL_NAMES - variable
                     - {n for n, r in rules.methods.items() if r.is_module_member})


def _variable_attributes(source: str) -> set[str]:
    return {n for pair in _VARIABLE_ATTR.findall(source) for n in pair if n}


# attributes that become keras.Variables: registered buffers/parameters, nn.Parameter(...)
_VARIABLE_ATTR = re.compile(r"register_(?:buffer|parameter)\(\s*[\"'](\w+)|\bself\.(\w+)\s*=\s*[\w.]*Parameter\(")


def _statement_spans(module: cst.Module, source: str, tree: ast.Module | None = None) -> dict[int, tuple[int, int]]:
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
        for cst_block, ast_block in zip(_cst_blocks(stmt), _ast_blocks(first)):
            _match_spans(cst_block, ast_block, spans)
        i += count


def _cst_blocks(stmt) -> list:
    """The statement lists of a compound statement, in the order of _ast_blocks."""
    def body(node) -> list:
        return list(node.body.body) if isinstance(node.body, cst.IndentedBlock) else []

    if isinstance(stmt, _StandIn):
        return []  # a skeleton: its text is all there is
    if isinstance(stmt, (cst.ClassDef, cst.FunctionDef, cst.With)):
        return [body(stmt)]
    if isinstance(stmt, (cst.For, cst.While)):
        return [body(stmt), body(stmt.orelse) if stmt.orelse else []]
    if isinstance(stmt, cst.If):
        orelse = stmt.orelse
        return [body(stmt), [orelse] if isinstance(orelse, cst.If) else body(orelse) if orelse else []]
    if isinstance(stmt, cst.Try):
        return [body(stmt), *(body(h) for h in stmt.handlers),
                body(stmt.orelse) if stmt.orelse else [], body(stmt.finalbody) if stmt.finalbody else []]
    return []


def _ast_blocks(node) -> list:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.With)):
        return [node.body]
    if isinstance(node, (ast.For, ast.While, ast.If)):
        return [node.body, node.orelse]
    if isinstance(node, ast.Try):
        return [node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody]
    return []


_WORD = re.compile(r"[A-Za-z_]\w*")
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
    r"|(?P<keep>(?<!\w)[rRbBuUfF]{0,2}(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')))")
_NOT_NEWLINE = re.compile(r"[^\n]")
_SELF_ATTRIBUTE = re.compile(r"\bself\.(\w+)")


def _blank(match: re.Match) -> str:
    if match.group("blank") is None:
        return match.group()
    return _NOT_NEWLINE.sub(" ", match.group())  # keep the line structure


def _untouched_statements(module: cst.Module, source: str, spans: dict[int, tuple[int, int]],
                          interesting: set[str], sublayers: frozenset[str] = frozenset(),
                          words: _Words | None = None) -> frozenset[int]:
    """Statements whose text mentions no name any pass or rule reacts to.

    Visiting a subtree costs about as much as parsing it, and model files carry large
    framework-free parts (weight enums, docs, factories, `x = self.block(x)` lines): a regex
    over each statement's lines finds them, at the top level and inside classes and
    functions. A false hit (the word in a comment) only costs a visit. A class deriving from
    a class that is translated is visited too. ``self.<sublayer>`` names (attributes the file
    assigns) are no Tensor methods, whatever they are called.
    """
    hits = _Hits(words if words is not None else _Words(source, sublayers), interesting)
    untouched: set[int] = set()
    _check_untouched(module.body, spans, hits, untouched)
    return frozenset(untouched)


# (module-level recursions, not closures: a closure that calls itself is a reference cycle,
# which keeps the trees it reaches alive until the next full garbage collection)
def _check_untouched(body, spans: dict[int, tuple[int, int]], hits: _Hits, untouched: set[int]) -> None:
    for stmt in body:
        span = spans.get(id(stmt))
        if span is None:
            continue
        if not hits.within(*span):
            untouched.add(id(stmt))
            continue
        if isinstance(stmt, cst.ClassDef):
            hits.add(stmt.name.value)
        for block in _cst_blocks(stmt):
            _check_untouched(block, spans, hits, untouched)


class _Words:
    """The lines where each word of a file's code occurs (docstrings and comments blanked,
    ``self.<sublayer>`` read as ``self``), lines as ``str.splitlines`` counts them. Indexed
    up front: the words of ``vocabulary`` (all when None); any other on demand."""

    def __init__(self, source: str, sublayers: frozenset[str] = frozenset(),
                 vocabulary: set[str] | None = None):
        code = _CODE_ONLY.sub(_blank, source)
        if sublayers:
            code = _SELF_ATTRIBUTE.sub(lambda m: "self" if m.group(1) in sublayers else m.group(), code)
        self.code_lines = code.splitlines(keepends=True)
        self.vocabulary = vocabulary
        self.lines: dict[str, list[int]] = {}
        for number, line in enumerate(self.code_lines, 1):
            words = set(_WORD.findall(line))
            for word in (words if vocabulary is None else words & vocabulary):
                self.lines.setdefault(word, []).append(number)

    def lines_of(self, word: str) -> list[int]:
        if self.vocabulary is not None and word not in self.vocabulary:
            self.vocabulary = self.vocabulary | {word}
            self.lines[word] = [n for n, line in enumerate(self.code_lines, 1) if word in _WORD.findall(line)]
        return self.lines.get(word, [])


class _Hits:
    """The lines holding one of a growing set of names (``names`` itself grows)."""

    def __init__(self, words: _Words, names: set[str]):
        self.words, self.names = words, names
        for name in (names - words.vocabulary if words.vocabulary is not None else ()):
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


# --- stand-ins ------------------------------------------------------------------------------
# Framework-free code (weight enums, helpers, `x = self.block(x)` lines, docstrings) is half of
# a model file; skipping it in the traversal still costs its parse and codegen, as much as the
# rest of a translation. So the source LibCST parses has such classes, functions and lines
# replaced by skeletons of the same kind, name and indentation (`class ResNet18_Weights:` + an
# indented `pass`; `x = 0` for a line that assigns x), and the tree gets, in each skeleton's
# place, a node whose code is the original text.
#
# Why the output cannot change: a block owns the comment lines after it that start with its
# indentation, up to the last one (LibCST's footer rule), and the skeleton's block has the
# original's indentation, so every line outside the stand-in keeps its owner. The first
# indented block sets the module's default indentation: the skeleton's is the original's.
# Stand-ins keep what imports.py and the scope tracker read (names, the names a line binds);
# no stand-in is where a pass reads more (`with` bodies; module-level lines other than plain
# assignments). The rest is checked: a stand-in that a pass visits, changes or moves (another
# indentation), or a stand-in class named like a model class, raises _SpliceError, and the
# file is translated whole. tests/test_fast_paths.py compares both ways.


class _SpliceError(Exception):
    """A stand-in was not left alone: translate the whole tree instead."""


class _StandIn:
    """Mixin of the stand-in node classes; ``fwt_stand_in`` = (original text, its indentation,
    the skeleton node)."""

    __slots__ = ()

    def _codegen_impl(self, state, **kwargs) -> None:  # type: ignore[no-untyped-def]
        text, indent, skeleton = self.fwt_stand_in  # type: ignore[attr-defined]
        for line in self.leading_lines:  # type: ignore[attr-defined]
            line._codegen(state)
        if "".join(state.indent_tokens) != indent or any(
                getattr(self, f.name) is not getattr(skeleton, f.name)
                for f in dataclasses.fields(skeleton) if f.name != "leading_lines"):
            # counted, not raised: LibCST's position bookkeeping breaks on an exception
            _faults.count = getattr(_faults, "count", 0) + 1
        state.add_token(text)


_faults = threading.local()  # stand-ins emitted moved or changed, in this thread


def _fault_count() -> int:
    return getattr(_faults, "count", 0)


@dataclasses.dataclass(frozen=True)
class _StandInClass(_StandIn, cst.ClassDef):
    fwt_stand_in: tuple = ()


@dataclasses.dataclass(frozen=True)
class _StandInFunction(_StandIn, cst.FunctionDef):
    fwt_stand_in: tuple = ()


@dataclasses.dataclass(frozen=True)
class _StandInLine(_StandIn, cst.SimpleStatementLine):
    fwt_stand_in: tuple = ()


_STAND_IN_KINDS = frozenset(c.__name__ for c in (_StandInClass, _StandInFunction, _StandInLine))


@dataclass
class _Plan:
    reduced: str  # the source with skeletons
    tree: ast.Module  # of the original source
    lines: list[str]  # of the original source, without their "\n"
    words: _Words
    stand_ins: dict[int, tuple]  # id(ast statement) -> (kind, first line, last line, indentation, statements)
    paths: set[int] = field(default_factory=set)  # ids of the ast statements that hold stand-ins
    self_attrs: frozenset[str] = frozenset()
    variable: set[str] = field(default_factory=set)


def _plan_stand_ins(source: str, direction: Direction, rules: RuleSet, passes) -> _Plan | None:
    """The stand-ins of a file (None: parse it whole): the classes and functions at any depth,
    the lines of simple statements in them, and the top-level assignments to plain names, that
    hold no name any pass reacts to. The same check as _untouched_statements, on CPython's tree,
    with every name the framework imports bind (a superset: a statement it finds framework-free
    is), verified on LibCST's tree by _check_stand_ins_untouched."""
    if any(hasattr(p, "prepare") or getattr(p, "whole_tree", False) for p in passes):
        return None  # a pass that reads the whole file needs the whole tree
    if "\r" in source or not source.endswith("\n"):
        return None
    try:
        tree = _parse_acyclic(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    bindings = _framework_names(tree.body, direction.source_roots)
    if not bindings:
        return None  # no framework import (nothing to translate), or a star import
    variable = _variable_attributes(source)
    self_attrs = frozenset(_SELF_ATTR.findall(source))
    interesting = bindings | _rule_names(rules) | variable
    # the names the checks may look for: these, and the classes the file defines
    vocabulary = interesting | set(_CLASS_NAME.findall(source))
    words = _Words(source, _sublayers(self_attrs, variable, rules), vocabulary)
    hits = _Hits(words, interesting)
    lines = source.split("\n")
    plan = _Plan("", tree, lines, words, {}, self_attrs=self_attrs, variable=variable)
    planner = _Planner(plan, hits, lines)
    planner.check(tree.body, 0, False, False)
    skeletons = planner.skeletons
    if not skeletons:
        return None
    parts, done = [], 0
    for first, last, skeleton in skeletons:  # in source order, never nested
        parts.append("".join(line + "\n" for line in lines[done:first - 1]))
        parts.append(skeleton)
        done = last
    parts.append("\n".join(lines[done:]))
    plan.reduced = "".join(parts)
    return plan


class _Planner:
    """_plan_stand_ins' walk over CPython's tree, in _untouched_statements' order."""

    def __init__(self, plan: _Plan, hits: _Hits, lines: list[str]):
        self.plan, self.hits, self.lines = plan, hits, lines
        self.skeletons: list[tuple[int, int, str]] = []
        self.path: list[int] = []  # ids of the enclosing statements

    def check(self, body: list, depth: int, in_def: bool, in_with: bool) -> None:
        i = 0
        while i < len(body):
            node, j = body[i], i + 1
            if not isinstance(node, _AST_COMPOUND):  # `a = 1; b = 2`: one CST line
                while (j < len(body) and not isinstance(body[j], _AST_COMPOUND)
                       and body[j].lineno == body[j - 1].end_lineno):
                    j += 1
            group, i = body[i:j], j
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            last = group[-1].end_lineno or first
            if self.hits.within(first, last):
                if isinstance(node, ast.ClassDef):
                    self.hits.add(node.name)
                self.path.append(id(node))
                inner = (in_def or isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)),
                         in_with or isinstance(node, (ast.With, ast.AsyncWith)))
                for block in _ast_blocks(node):
                    self.check(block, depth + 1, *inner)
                self.path.pop()
                continue
            if in_with:  # `with torch.no_grad():` moves and rewrites its body
                continue
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                made = _compound_skeleton(node, first, self.lines)
            elif depth == 0:  # imports.py reads top-level assignments to plain names
                made = ("line", "", " = ".join(t.id for t in node.targets) + " = 0\n") if (  # type: ignore[attr-defined]
                    len(group) == 1 and isinstance(node, ast.Assign)
                    and all(isinstance(t, ast.Name) for t in node.targets)) else None
            elif in_def and not isinstance(node, _AST_COMPOUND):
                made = _simple_skeleton(group, first, last, self.lines)
            else:
                continue
            if made is None:
                continue
            kind, indent, skeleton = made
            self.plan.stand_ins[id(node)] = (kind, first, last, indent, len(group))
            self.plan.paths.update(self.path)
            self.skeletons.append((first, last, skeleton))


_TRY_STAR = (ast.TryStar,) if hasattr(ast, "TryStar") else ()  # Python 3.11+
_AST_COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.AsyncFor, ast.While,
                 ast.With, ast.AsyncWith, ast.Try, *_TRY_STAR, ast.Match)
# simple statements a stand-in may replace; the names they bind are all the scope tracker reads
_AST_BINDING = (ast.Assign, ast.AugAssign, ast.AnnAssign)
_AST_INERT = (ast.Expr, ast.Return, ast.Pass, ast.Break, ast.Continue, ast.Raise, ast.Assert, ast.Delete)


def _simple_skeleton(group: list, first: int, last: int, lines: list[str]) -> tuple[str, str, str] | None:
    """(kind, indentation, skeleton) of a line of simple statements in a function or class:
    one skeleton statement per statement (``pass``, or ``a = b = 0`` binding the same names)."""
    if not all(isinstance(n, _AST_BINDING + _AST_INERT) for n in group):
        return None  # imports, global/nonlocal...
    indent = _indentation(lines[first - 1])
    if indent is None or any(lines[n - 1].endswith("\\") for n in range(first - 1, last + 1)):
        return None
    if _col(lines[first - 1], group[0].col_offset) != len(indent):
        return None  # the body of `def f(): ...` on the header's line
    parts = []
    for node in group:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        names = [n for t in targets for n in _ast_target_names(t)]
        parts.append(" = ".join(names) + " = 0" if names else "pass")
    return "line", indent, indent + "; ".join(parts) + "\n"


def _ast_target_names(node) -> list[str]:
    """imports.target_names on CPython's tree."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [n for e in node.elts for n in _ast_target_names(e)]
    if isinstance(node, ast.Starred):
        return _ast_target_names(node.value)
    return []


def _col(line: str, col_offset: int) -> int:
    """CPython's column (UTF-8 bytes) in characters."""
    return len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="replace"))


def _indentation(line: str) -> str | None:
    """The spaces and tabs that start a statement's line (None: other whitespace)."""
    indent = line[:len(line) - len(line.lstrip(" \t"))]
    return None if line[len(indent):len(indent) + 1] in ("", " ", "\t", "\f", "\v") else indent


def _parse_acyclic(source: str) -> ast.Module:
    """``ast.parse`` with the cyclic garbage collector paused: CPython's tree has no cycles, and
    a collector running while it is built (one C call) only scans it, dozens of times per file,
    and ages it toward a full collection of the process' objects."""
    if not gc.isenabled():
        return ast.parse(source)
    gc.disable()
    try:
        return ast.parse(source)
    finally:
        gc.enable()


def _compound_skeleton(node, first: int, lines: list[str]) -> tuple[str, str, str] | None:
    """(kind, indentation, skeleton) of a class or function, or None when its shape is unusual
    (a backslash in the header, indentation other than spaces and tabs)."""
    indent = _indentation(lines[first - 1])
    if indent is None or lines[(node.end_lineno or first) - 1].endswith("\\"):
        return None
    body = node.body[0]
    if any(lines[n - 1].endswith("\\") for n in range(node.lineno, body.lineno)):
        return None  # the body's line may continue the header's
    try:
        before = lines[body.lineno - 1].encode("utf-8")[:body.col_offset].decode("utf-8")
    except (UnicodeError, IndexError):
        return None
    head = f"{indent}class {node.name}:" if isinstance(node, ast.ClassDef) else f"{indent}def {node.name}():"
    kind = "class" if isinstance(node, ast.ClassDef) else "def"
    if body.lineno > node.lineno and before and not before.strip(" \t"):
        if len(before) <= len(indent) or not before.startswith(indent):
            return None
        return kind, indent, f"{head}\n{before}pass\n"  # an indented block, indented alike
    if before.strip(" \t") and body.lineno >= node.lineno:
        return kind, indent, f"{head} pass\n"  # the body follows the colon on its line
    return None


def _framework_names(body: list, roots: tuple[str, ...]) -> set[str] | None:
    """Every local name that an import of the source framework binds, at the top level or in
    top-level compound statements (a superset of ImportMap.bindings); None with a star import."""
    names: set[str] = set()
    stack = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".", 1)[0]
                if root in roots:
                    names.add(alias.asname or root)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.split(".", 1)[0] in roots:
                for alias in node.names:
                    if alias.name == "*":
                        return None
                    names.add(alias.asname or alias.name)
        elif not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            for block in _ast_blocks(node):
                stack.extend(block)
    return names


def _install_stand_ins(module: cst.Module, plan: _Plan) -> cst.Module:
    """The parsed skeletons replaced by stand-in nodes."""
    found: dict[int, cst.CSTNode] = {}
    ancestors: set[int] = set()
    _find_skeletons(module.body, plan.tree.body, plan, found, ancestors)
    if len(found) != len(plan.stand_ins):
        raise _SpliceError("a skeleton was not found")
    body = []
    for stmt in module.body:
        if id(stmt) in found:
            stmt = found[id(stmt)]
        elif id(stmt) in ancestors:
            stmt = walk(stmt, _Install(found, ancestors))
        body.append(stmt)
    return module.with_changes(body=body)


def _find_skeletons(cst_body, ast_body: list, plan: _Plan, found: dict[int, cst.CSTNode], ancestors: set[int]) -> None:
    """The skeletons' nodes (-> their stand-ins) and the statements that hold them."""
    i = 0
    for stmt in cst_body:
        if i >= len(ast_body):
            break
        count = len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
        node = ast_body[i]
        info = plan.stand_ins.get(id(node))
        if info is not None:
            found[id(stmt)] = _stand_in(stmt, info, plan)
        elif id(node) in plan.paths:
            ancestors.add(id(stmt))
            for cst_block, ast_block in zip(_cst_blocks(stmt), _ast_blocks(node)):
                _find_skeletons(cst_block, ast_block, plan, found, ancestors)
        i += count


class _Install(cst.CSTTransformer):
    """Puts the stand-ins in their skeletons' places, descending only to them."""

    def __init__(self, found: dict[int, cst.CSTNode], ancestors: set[int]):
        super().__init__()
        self.found, self.ancestors = found, ancestors

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.ancestors or isinstance(node, (cst.IndentedBlock, cst.Else, cst.Finally,
                                                               cst.ExceptHandler))

    def on_leave(self, original: cst.CSTNode, updated: cst.CSTNode):  # type: ignore[override]
        return self.found.get(id(original), updated)


def _stand_in(skeleton: cst.CSTNode, info: tuple, plan: _Plan) -> cst.CSTNode:
    kind, first, last, indent, count = info
    expected = {"class": cst.ClassDef, "def": cst.FunctionDef, "line": cst.SimpleStatementLine}[kind]
    if type(skeleton) is not expected or (kind == "line" and len(skeleton.body) != count):  # type: ignore[attr-defined]
        raise _SpliceError("a skeleton parsed as something else")
    footer = 0
    body = getattr(skeleton, "body", None)
    if isinstance(body, cst.IndentedBlock):
        footer = len(body.footer)  # comment lines after the block, at its indentation
    text = "\n".join(plan.lines[first - 1:last + footer]) + "\n"
    cls = {"class": _StandInClass, "def": _StandInFunction, "line": _StandInLine}[kind]
    fields = {f.name: getattr(skeleton, f.name) for f in dataclasses.fields(skeleton)}
    return cls(**fields, fwt_stand_in=(text, indent, skeleton))


def _check_stand_ins_untouched(module: cst.Module, untouched: frozenset[int]) -> None:
    """Every stand-in is skipped by the traversal: it, or a statement holding it, is untouched."""
    _check_skipped(module.body, untouched)


def _check_skipped(body, untouched: frozenset[int]) -> None:
    for stmt in body:
        if id(stmt) in untouched:
            continue
        if isinstance(stmt, _StandIn):
            raise _SpliceError("a stand-in holds framework code")
        for block in _cst_blocks(stmt):
            _check_skipped(block, untouched)


def _syntax_error(source: str, path: str, exc: cst.ParserSyntaxError) -> TranslationError:
    """LibCST's native parser often points past the error (the next line, column 1);
    CPython's parser gives the exact place and a clearer message, so ask it first."""
    try:
        compile(source, path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as err:
        if err.lineno:
            return TranslationError(f"syntax error: {err.msg}", err.lineno, err.offset or 1)
    except (ValueError, MemoryError, RecursionError):
        pass
    return TranslationError(f"syntax error: {exc.message}", exc.editor_line, exc.editor_column)


def _locate(module: cst.Module, ctx: Context, path: str, spans: dict[int, tuple[int, int]],
            source: str = "") -> list[Diagnostic]:
    """Line:col for each diagnostic.

    LibCST's PositionProvider re-generates the code it measures, at several times the cost of a
    plain codegen. So positions are computed only for the statements that hold a diagnostic,
    each on its own, and shifted by the line where CPython's parser (C code, fast) says the
    statement starts: the innermost statement (see _locate_nested), else the top-level one, where
    columns need no shift (top-level statements start at column 0).
    """
    if not ctx.diagnostics:
        return []
    by_top: dict[int, list] = {}
    for d in ctx.diagnostics:
        by_top.setdefault(id(d.top), []).append(d)
    nested = _locate_nested(module, ctx.diagnostics, spans, source) if source else {}
    out = []
    for stmt in module.body:
        found = by_top.pop(id(stmt), None)
        if not found:
            continue
        positions = None
        offset = spans.get(id(stmt), (1, 1))[0] - 1
        for d in found:
            at = nested.get(id(d))
            if at is None:
                if positions is None:
                    alone = module.with_changes(body=[_header_only(stmt, found, nested).with_changes(leading_lines=[])],
                                                header=[], footer=[])
                    positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
                pos = positions.get(d.node)
                at = (pos.start.line + offset, pos.start.column + 1) if pos else (offset + 1, 1)
            out.append(Diagnostic(path, at[0], at[1], d.severity, d.code, d.message))
    for found in by_top.values():  # not inside a top-level statement (the module itself)
        out.extend(Diagnostic(path, 1, 1, d.severity, d.code, d.message) for d in found)
    out.sort(key=lambda d: (d.line, d.col, d.severity != ERROR))
    return out


def _header_only(stmt: cst.CSTNode, found: list, nested: dict[int, tuple[int, int]]) -> cst.CSTNode:
    """A class or function whose diagnostics left to the top-level positions are all in its
    header (decorators, bases, parameters): without its body, whose code they do not need."""
    if not isinstance(stmt, (cst.ClassDef, cst.FunctionDef)) or not isinstance(stmt.body, cst.IndentedBlock):
        return stmt
    for d in found:
        if id(d) not in nested and (len(d.path) < 3 or d.path[1] is not stmt or d.path[2] is stmt.body):
            return stmt
    return stmt.with_changes(body=cst.IndentedBlock(body=[]))


_NEWLINE = re.compile(r"\r\n?|\n")  # LibCST's and CPython's line ends


def _locate_nested(module: cst.Module, diagnostics: list, spans: dict[int, tuple[int, int]],
                   source: str) -> dict[int, tuple[int, int]]:
    """id(diagnostic) -> (line, col), from the innermost statement with a span below the
    top-level one (a diagnostic in a 300-line class costs the positions of its one line).

    That statement's code on its own is its source text less its indentation: where its lines
    are suffixes of the source lines, the column shifts by the difference. A node that starts
    inside a line's indentation, or at column 0 of an unindented line without being an
    expression or a simple statement (whose positions start after the indentation), is left
    to the top-level statement's positions.
    """
    found: dict[int, tuple[int, int]] = {}
    cache: dict[int, tuple] = {}
    src_lines: list[str] | None = None
    for d in diagnostics:
        stmt = next((n for n in reversed(d.path[2:]) if id(n) in spans), None)
        if stmt is None or len(d.path) < 2 or d.path[1] is not d.top:
            continue
        if src_lines is None:
            src_lines = _NEWLINE.split(source)
        if d.node is stmt:  # on the statement itself (copied below, so not in its positions)
            if isinstance(stmt, cst.SimpleStatementLine):  # it starts after its indentation
                line = spans[id(stmt)][0]
                text = src_lines[line - 1] if 0 < line <= len(src_lines) else ""
                indent = text[:len(text) - len(text.lstrip(" \t"))]
                if text[len(indent):len(indent) + 1] not in ("", " ", "\t", "\f", "\v"):
                    found[id(d)] = (line, len(indent) + 1)
            continue
        if id(stmt) not in cache:
            alone = module.with_changes(body=[stmt.with_changes(leading_lines=[])], header=[], footer=[])
            faults = _fault_count()
            positions = MetadataWrapper(alone, unsafe_skip_copy=True).resolve(PositionProvider)
            cache[id(stmt)] = (positions, _NEWLINE.split(alone.code))
            # a stand-in in it is indented otherwise on its own, but has all its lines: the
            # positions of the other nodes hold (and no diagnostic is on a stand-in's lines)
            _faults.count = faults
        positions, alone_lines = cache[id(stmt)]
        pos = positions.get(d.node)
        if pos is None:
            continue
        line = spans[id(stmt)][0] + pos.start.line - 1
        if not 0 < line <= len(src_lines) or pos.start.line > len(alone_lines):
            continue
        mine, theirs = alone_lines[pos.start.line - 1], src_lines[line - 1]
        indent = len(mine) - len(mine.lstrip())
        col = pos.start.column
        if not theirs.endswith(mine) or col < indent or (
                col == 0 and not isinstance(d.node, (cst.BaseExpression, cst.SimpleStatementLine))):
            continue
        found[id(d)] = (line, col + len(theirs) - len(mine) + 1)
    return found
