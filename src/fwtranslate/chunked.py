"""Large files in pieces: bounded memory, the same output as a whole-file translation.

LibCST's tree of a file costs about 13 KB per line. A file longer than THRESHOLD lines whose
top-level statements split safely is translated piece by piece, each piece being the module's
prologue (docstring and imports) plus a run of consecutive top-level statements, and the output
is assembled: one prologue (imports pruned and added with the facts of all the pieces, the
support code once) and each piece's statements, in the original order.

Why the output cannot change:
- statements that name each other (a base class, a class instantiated, a function called, a
  constant: any word of one statement that another defines at module level) are in the same
  piece, so what flows backwards (a class instantiated later stays a layer) stays in the piece;
- what flows forwards (the classes seen, the helpers used, the names still used...) is carried
  from piece to piece in source order, so each statement sees the state the whole file's
  traversal would give it; what the passes read from the whole text (self.<name> attributes,
  variables, class names, module-level names) is computed on the whole file and carried in;
- a file that does not split safely (imports after the prologue, star imports, a module-level
  name rebinding an import, passes that read the whole tree, our own support code, comments
  between statements that a block could own...) is translated whole; so is one whose pieces
  disagree on anything about the prologue.
tests/common/test_chunked.py compares both ways.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import tokenize
from array import array
from dataclasses import dataclass, field

import libcst as cst

from .directions import Direction
from .imports import ImportMap
from .passes.common.context import ClassInfo, Context
from .passes.common.finish_module import FinishModule
from .report import ERROR, Diagnostic
from .roundtrip import shipped_names
from .rules import RuleSet
from .untouched import CLASS_NAME, SELF_ATTR, WORD, variable_attributes

THRESHOLD = 2000  # lines: longer files are translated in pieces of about this many lines


@dataclass
class Facts:
    """What the passes read from the whole file's text, computed once and given to each piece."""

    variable: set[str]
    self_attrs: frozenset[str]
    class_names: set[str]
    local_names: set[str]


@dataclass
class Carry:
    """Module-level state that flows forwards, from one piece to the next."""

    module_classes: dict[str, ClassInfo] = field(default_factory=dict)
    instantiated: set[str] = field(default_factory=set)
    helpers_used: set[str] = field(default_factory=set)
    variable_attrs: set[str] = field(default_factory=set)
    factories: dict = field(default_factory=dict)
    target_imports: set[str] = field(default_factory=set)
    still_used: set[str] = field(default_factory=set)

    def seed(self, ctx: Context) -> None:
        ctx.module_classes.update(self.module_classes)
        ctx.instantiated |= self.instantiated
        ctx.helpers_used |= self.helpers_used
        ctx.variable_attrs |= self.variable_attrs
        ctx.factories.update(self.factories)
        ctx.target_imports |= self.target_imports
        ctx.still_used |= self.still_used

    @classmethod
    def of(cls, ctx: Context) -> Carry:
        # the class nodes are not kept: a class's own piece is the only one that reads them
        return cls(
            {k: dataclasses.replace(v, node=None) for k, v in ctx.module_classes.items()},
            set(ctx.instantiated),
            set(ctx.helpers_used),
            set(ctx.variable_attrs),
            dict(ctx.factories),
            set(ctx.target_imports),
            set(ctx.still_used),
        )


@dataclass
class Piece:
    """One piece's input (the prologue's line count, the facts, the state carried in) and, once
    translated, its output."""

    prologue_lines: int
    facts: Facts
    carry: Carry
    first: bool
    last: bool
    # outputs
    leading: list[cst.EmptyLine] = field(default_factory=list)  # the first statement's (first piece)
    head: str = ""  # the first statement's code without its leading lines (first piece)
    text: str = ""  # the code of the other statements (and the footer, last piece)
    default_indent: str = ""
    framework_locals: set[str] = field(default_factory=set)
    out_carry: Carry | None = None


class Lines:
    """The lines of a text as the tokenizer counts them (each ending at a newline: str.splitlines
    also cuts at \\v, \\x1c, \\u2028...), kept as their offsets, 8 bytes a line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.offsets = array("q", [0])
        pos = source.find("\n")
        while pos >= 0:
            self.offsets.append(pos + 1)
            pos = source.find("\n", pos + 1)
        if self.offsets[-1] != len(source):
            self.offsets.append(len(source))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def text(self, first: int, last: int) -> str:
        """Lines ``first`` to ``last`` (from 1, both included), with their newlines."""
        return self.source[self.offsets[first - 1] : self.offsets[last]]

    def line(self, index: int) -> str:
        """The line at ``index`` (from 0)."""
        return self.source[self.offsets[index] : self.offsets[index + 1]]


class Unsafe(Exception):
    """The pieces cannot be shown to translate as the whole file would: translate it whole."""


@dataclass(frozen=True)
class _Text(cst.SimpleStatementLine):
    """Code already translated, emitted as it is after its leading lines (a field: FinishModule's
    ``with_changes`` keeps it)."""

    fwt_text: str = ""

    def _codegen_impl(self, state, **kwargs) -> None:
        for line in self.leading_lines:
            line._codegen(state)
        state.add_token(self.fwt_text)


def _text_statement(leading: list[cst.EmptyLine], text: str) -> _Text:
    return _Text(body=[cst.Pass()], leading_lines=leading, fwt_text=text)


def piece_output(
    piece: Piece, module: cst.Module, new_module: cst.Module, spans: dict[int, tuple[int, int]], ctx: Context
) -> None:
    """The code of a translated piece's statements (its prologue left to _assemble), and its state."""
    n = sum(1 for s in module.body if spans.get(id(s), (0, 0))[1] <= piece.prologue_lines and id(s) in spans)
    if n == 0 or not all(_same(new, old, new_module, module) for new, old in zip(new_module.body[:n], module.body[:n])):
        raise Unsafe("the prologue was changed")
    if any(spans.get(id(s), (0, 0))[0] <= piece.prologue_lines for s in module.body[n:]):
        raise Unsafe("a statement across the prologue's end")
    body = list(new_module.body[n:])
    if not body or (new_module.footer and not piece.last):
        raise Unsafe("no statement, or a footer")
    if piece.first:
        first = body.pop(0)
        full = new_module.code_for_node(first)
        lead = "".join(new_module.code_for_node(line) for line in first.leading_lines)
        if not full.startswith(lead):
            raise Unsafe("leading lines")
        piece.leading, piece.head = list(first.leading_lines), full[len(lead) :]
    text = [new_module.code_for_node(s) for s in body]
    if piece.last:
        text.extend(new_module.code_for_node(line) for line in new_module.footer)
    piece.text = "".join(text)
    piece.default_indent = new_module.default_indent
    piece.framework_locals = set(ctx.imports.bindings)
    piece.out_carry = Carry.of(ctx)


def _same(new: cst.CSTNode, old: cst.CSTNode, new_module: cst.Module, module: cst.Module) -> bool:
    """A prologue statement the traversal left as it was (its imports the same nodes: FinishModule
    knows them by identity)."""
    if new is old:
        return True
    return (
        isinstance(new, cst.SimpleStatementLine)
        and isinstance(old, cst.SimpleStatementLine)
        and len(new.body) == len(old.body)
        and all(a is b for a, b in zip(new.body, old.body))
        and new_module.code_for_node(new) == module.code_for_node(old)
    )


def translate_in_pieces(source: str, path: str, direction: Direction, rules: RuleSet, translate_piece):
    """(code, diagnostics, framework locals, kept locals) of ``source`` translated in pieces, or None when it is short or does not
    split safely. ``translate_piece(text, piece)`` translates one piece (pipeline.py)."""
    if source.count("\n") <= THRESHOLD:
        return None
    try:
        lines = Lines(source)
        split = _split(source, lines, direction, rules)
        if split is None:
            return None
        prologue_end, segments, first_indent = split
        prologue = lines.text(1, prologue_end)
        facts = Facts(
            variable_attributes(source),
            frozenset(SELF_ATTR.findall(source)),
            set(CLASS_NAME.findall(source)),
            _local_names(lines, segments),
        )
        carry = Carry()
        prologue_diags: list[Diagnostic] | None = None
        body_diags: list[Diagnostic] = []
        pieces: list[Piece] = []
        for i, (start, end) in enumerate(segments):
            piece = Piece(prologue_end, facts, carry, i == 0, i == len(segments) - 1)
            result, carry = translate_piece(prologue + lines.text(start, end), piece)
            if piece.default_indent != (first_indent or piece.default_indent) or (
                pieces and piece.default_indent != pieces[0].default_indent
            ):
                return None
            if _output_error(piece.text) or (piece.first and _output_error(piece.head)):
                return None
            mine = [d for d in result.diagnostics if d.line <= prologue_end]
            if prologue_diags is None:
                prologue_diags = mine
            elif mine != prologue_diags:
                return None
            shift = start - prologue_end - 1
            body_diags.extend(
                dataclasses.replace(d, line=d.line + shift) for d in result.diagnostics if d.line > prologue_end
            )
            piece.carry, piece.out_carry = Carry(), None  # the state is carried on, not kept per piece
            pieces.append(piece)
            del result
        code = _assemble(prologue, pieces, carry, path, direction, rules)
        if code is None:
            return None
    except Unsafe:
        return None
    diagnostics = sorted((prologue_diags or []) + body_diags, key=lambda d: (d.line, d.col, d.severity != ERROR))
    return code, diagnostics, pieces[0].framework_locals, set(carry.still_used)


def _assemble(
    prologue: str, pieces: list[Piece], carry: Carry, path: str, direction: Direction, rules: RuleSet
) -> str | None:
    """The output: the prologue with FinishModule's imports and support code for the facts of all
    the pieces, then the pieces' statements."""
    module = cst.parse_module(prologue)
    if module.footer:
        return None
    imports = ImportMap.from_module(
        module, direction.source_roots, direction.canonical if direction.canonical_prefixes else None
    )
    ctx = Context(path=path, direction=direction, rules=rules, imports=imports, star_names=frozenset())
    carry.seed(ctx)
    first = pieces[0]
    rest = "".join(p.text for p in pieces)
    body = [*module.body, _text_statement(first.leading, first.head), _text_statement([], rest)]
    out = FinishModule(ctx)._fix_imports(body)
    header = module.with_changes(body=[s for s in out if not isinstance(s, _Text)], default_indent=first.default_indent)
    if _output_error(header.code):
        return None
    return module.with_changes(body=out, default_indent=first.default_indent).code


def _output_error(code: str) -> bool:
    try:
        compile(code, "<piece>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        return True
    return False


_CONTINUES = frozenset({"else", "elif", "except", "finally"})


def _statements(source: str) -> tuple[list[list[int]], str | None]:
    """[first line, last line] of each top-level statement (its decorators included, the comments
    around it not), and the first indentation of the file."""
    stmts: list[list[int]] = []
    depth, line_start, decorator, first_indent = 0, True, False, None
    cur: list[int] | None = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = tok.type
        if kind == tokenize.INDENT:
            depth += 1
            if first_indent is None:
                first_indent = tok.string
            continue
        if kind == tokenize.DEDENT:
            depth -= 1
            continue
        if kind in (tokenize.NL, tokenize.COMMENT, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NEWLINE:
            line_start = True
            continue
        if line_start:
            line_start = False
            if depth == 0:
                if not ((tok.string in _CONTINUES or decorator) and cur is not None):
                    if tok.start[1] != 0:
                        raise Unsafe("a top-level statement not at column 0")
                    cur = [tok.start[0], tok.start[0]]
                    stmts.append(cur)
                decorator = tok.string == "@"
        if cur is not None and tok.end[0] > cur[1]:
            cur[1] = tok.end[0]
    return stmts, first_indent


def _split(source: str, lines: Lines, direction: Direction, rules: RuleSet):
    """(the prologue's last line, the pieces' [first line, last line], the first indentation), or None.
    Each statement's CPython tree is built and dropped in turn (all of them: a tree as big as the file's)."""
    if any(c in source for c in "\r\f\x00") or not source.endswith("\n"):
        return None
    if any(p.reads_whole_tree(source, rules) for p in direction.passes):
        return None  # a pass that reads the whole tree
    try:
        stmts, first_indent = _statements(source)
    except (tokenize.TokenError, SyntaxError):
        return None

    def tree(i: int) -> list[ast.stmt] | None:
        first, last = stmts[i]
        try:
            return ast.parse(lines.text(first, last)).body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None

    # the prologue: the docstring and the import lines
    n, imported = 0, False
    bound: set[str] = set()
    while n < len(stmts):
        body = tree(n)
        if body is None:
            return None
        if not (
            all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in body)
            or (
                n == 0
                and len(body) == 1
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            )
        ):
            break
        if stmts[n][1] - stmts[n][0] != 0 and not all(isinstance(s, ast.Expr) for s in body):
            return None  # an import over several lines: kept simple
        for s in body:
            if isinstance(s, (ast.Import, ast.ImportFrom)):
                imported = True
                for alias in s.names:
                    if alias.name == "*":
                        return None
                    bound.add((alias.asname or alias.name).split(".", 1)[0])
        n += 1
    if n == 0 or n == len(stmts) or not imported:
        return None
    shipped = shipped_names(direction)  # our own support code: roundtrip.py drops it
    body_indices = list(range(n, len(stmts)))
    defines: list[set[str]] = []
    for i in body_indices:
        nodes = tree(i)
        if nodes is None:
            return None
        names: set[str] = set()
        for node in nodes:
            if _has_import(node):
                return None
            _module_bindings(node, names)
        if names & (bound | shipped):
            return None
        defines.append(names)
    # statements that name each other go together (union-find over body indices)
    parent = list(range(len(body_indices)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    definer: dict[str, int] = {}
    for k, names in enumerate(defines):
        for name in names:
            if name in definer:
                parent[find(k)] = find(definer[name])
            else:
                definer[name] = k
    for k, i in enumerate(body_indices):
        first, last = stmts[i]
        for word in set(WORD.findall(lines.text(first, last))):
            j = definer.get(word)
            if j is not None:
                parent[find(k)] = find(j)
    span: dict[int, list[int]] = {}
    for k in range(len(body_indices)):
        root = find(k)
        span.setdefault(root, [k, k])[1] = k
    crossing = [0] * (len(body_indices) + 1)  # > 0: a group spans the cut before body_indices[k]
    for lo, hi in span.values():
        crossing[lo + 1] += 1
        crossing[hi + 1] -= 1
    prologue_end = stmts[n - 1][1]
    segments: list[list[int]] = []
    start, open_groups = prologue_end + 1, 0
    for k in range(len(body_indices)):
        open_groups += crossing[k]
        first = stmts[body_indices[k]][0]
        if (
            k
            and open_groups == 0
            and first - start >= THRESHOLD
            and _clean_gap(lines, stmts[body_indices[k - 1]][1], first)
        ):
            segments.append([start, stmts[body_indices[k - 1]][1]])
            start = stmts[body_indices[k - 1]][1] + 1
    segments.append([start, len(lines)])
    if len(segments) < 2:
        return None
    return prologue_end, segments, first_indent


def _clean_gap(lines: Lines, end: int, first: int) -> bool:
    """No indented line between two statements (a comment a block before it could own)."""
    return all(not line.strip() or line[0] not in " \t" for line in map(lines.line, range(end, first - 1)))


def _has_import(node: ast.AST) -> bool:
    return any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node))


def _module_bindings(node: ast.AST, names: set[str]) -> None:
    """The module-level names a top-level statement binds (a superset)."""
    for sub in ast.walk(node):
        if isinstance(sub, (ast.Global, ast.Nonlocal)):
            names.update(sub.names)
        elif isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
            names.add(sub.target.id)
    stack = [node]
    while stack:
        sub = stack.pop()
        if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(sub.name)
            inner = [*sub.decorator_list, *(sub.bases if isinstance(sub, ast.ClassDef) else [])]
            if isinstance(sub, ast.ClassDef):
                inner += [k.value for k in sub.keywords]
            else:
                inner += [*sub.args.defaults, *(d for d in sub.args.kw_defaults if d is not None)]
            stack.extend(inner)
            continue
        if isinstance(sub, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.add(sub.id)
        elif isinstance(sub, ast.alias):
            names.add((sub.asname or sub.name).split(".", 1)[0])
        elif isinstance(sub, (ast.MatchAs, ast.MatchStar)) and sub.name:
            names.add(sub.name)
        elif isinstance(sub, ast.MatchMapping) and sub.rest:
            names.add(sub.rest)
        elif isinstance(sub, ast.ExceptHandler) and sub.name:
            names.add(sub.name)
        stack.extend(ast.iter_child_nodes(sub))


def _local_names(lines: Lines, segments: list[list[int]]) -> set[str]:
    """ImportMap.local_names of the whole file (module-level assignments to a name, classes and
    functions, inside if/try blocks too), from CPython's trees of its statements."""
    names: set[str] = set()
    for start, end in segments:
        for stmt in ast.parse(lines.text(start, end)).body:
            _cst_local_names([stmt], names, lines, start - 1)
    return names


def _cst_local_names(body: list[ast.stmt], names: set[str], lines: Lines, offset: int) -> None:
    for stmt in body:
        if isinstance(stmt, ast.If):
            _cst_local_names(stmt.body, names, lines, offset)
            if stmt.orelse and not _is_elif(stmt, lines, offset):
                _cst_local_names(stmt.orelse, names, lines, offset)
        elif isinstance(stmt, ast.Try):
            _cst_local_names(stmt.body, names, lines, offset)
            for handler in stmt.handlers:
                _cst_local_names(handler.body, names, lines, offset)
        elif isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            names.update(t.id for t in stmt.targets if isinstance(t, ast.Name))
        elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            names.add(stmt.target.id)


def _is_elif(stmt: ast.If, lines: Lines, offset: int) -> bool:
    """Whether the ``orelse`` of ``stmt`` is an ``elif`` (a line starting ``elif`` at the if's column)."""
    first = stmt.orelse[0]
    if not (len(stmt.orelse) == 1 and isinstance(first, ast.If)):
        return False
    line = lines.line(offset + first.lineno - 1)
    return (
        line[: first.col_offset].strip() == ""
        and line[first.col_offset :].startswith("elif")
        and (first.col_offset == stmt.col_offset)
    )
