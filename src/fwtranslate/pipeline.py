"""parse -> analyze -> rewrite -> emit -> report, for one source text.

The passes share a single LibCST traversal (see passes/common/base.py): translation speed is judged
against a bare parse + codegen (benchmarks/translate_speed.py), and every extra walk of the
tree costs about one parse. What keeps it cheap, none of it visible in the output:
- statements that mention no name a pass reacts to are skipped (untouched_statements), and
  most are not even parsed: stand-ins (plan_stand_ins);
- the traversal (Driver.walk) keeps the nodes nothing changed instead of copying them, and
  does not enter subtrees where no handler can act (whitespace, commas...);
- diagnostics get positions from the innermost statement that holds them (locate).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from . import chunked, guard, suppress
from .directions import Direction
from .driver import Driver
from .errors import TranslationError
from .imports import ImportMap, free_globals
from .locate import locate
from .passes.common.context import Context
from .report import ERROR, Diagnostic
from .roundtrip import recognise_support
from .rules import RuleSet
from .stand_ins import (
    Plan,
    SpliceError,
    StandInClass,
    check_stand_ins_untouched,
    fault_count,
    install_stand_ins,
    plan_stand_ins,
)
from .untouched import (
    SELF_ATTR,
    WORD,
    cst_blocks,
    interesting_names,
    statement_spans,
    sublayer_attributes,
    untouched_statements,
    variable_attributes,
)


@dataclass
class RewriteResult:
    code: str
    diagnostics: list[Diagnostic]
    framework_locals: set[str] = field(default_factory=set)  # names bound to the source framework
    kept_locals: set[str] = field(default_factory=set)  # of those, the ones the output still uses


@dataclass(frozen=True)
class Job:
    """What stays the same through one file's translation and its retries (pieces, stand-ins
    given up, statements kept as they are)."""

    path: str
    direction: Direction
    rules: RuleSet
    layout: str = "torch"  # the PyTorch -> Keras interface (passes/torch_to_tf/layout.py)


def rewrite(source: str, path: str, direction: Direction, rules: RuleSet, layout: str = "torch") -> RewriteResult:
    """The translation of ``source``. Every entry (the API, the command, folders, hooks,
    --with-deps) comes here: the input guard (guard.py) runs first, and the output is checked
    to parse. A statement whose translation does not parse (201 chained ``.view(-1)`` become
    201 nested calls, over CPython's limit of 200) is left unconverted, with an
    ``output-syntax`` error; an output that still does not parse raises TranslationError.
    ``layout``: the PyTorch -> Keras interface (passes/torch_to_tf/layout.py)."""
    job = Job(path, direction, rules, layout)
    if source.startswith("\ufeff"):
        source = source[1:]  # a byte-order mark (decoded as utf-8, not utf-8-sig): CPython refuses it
    if not guard.check_source(source, path, direction.source_roots):
        return RewriteResult(source, [])  # no framework code: unchanged, and not worth a LibCST parse
    try:
        # a long file in pieces (chunked.py): their outputs are checked to parse one by one
        pieces = chunked.translate_in_pieces(
            source,
            path,
            direction,
            rules,
            lambda text, piece: _translate_piece(text, job, piece),
        )
        if pieces is not None:
            return RewriteResult(*pieces)
        result = _translate(source, job)
        if result.code != source:
            error = _output_error(result.code, path)
            if error is not None:
                result = _keep_unparsable(source, job, error)
        return result
    except SyntaxError as err:  # LibCST parsed what CPython does not (the spans come from CPython)
        raise TranslationError(f"syntax error: {err.msg}", err.lineno or 0, err.offset or 1) from None


def _translate(source: str, job: Job) -> RewriteResult:
    plan = plan_stand_ins(source, job.direction, job.rules, job.direction.passes)
    if plan is not None:
        try:
            return _rewrite(source, job, plan)
        except SpliceError:
            pass  # a stand-in was needed after all (rare): translate the whole tree
    return _rewrite(source, job, None)


def _translate_piece(text: str, job: Job, piece: chunked.Piece) -> tuple[RewriteResult, chunked.Carry]:
    """One piece of a long file (chunked.py): its diagnostics, and the state it carries on."""
    plan = plan_stand_ins(text, job.direction, job.rules, job.direction.passes, piece.facts)
    if plan is not None:
        try:
            return _rewrite(text, job, plan, piece=piece), piece.out_carry  # type: ignore[return-value]
        except SpliceError:
            pass
    return _rewrite(text, job, None, piece=piece), piece.out_carry  # type: ignore[return-value]


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


def _keep_unparsable(source: str, job: Job, error: tuple[str, int]) -> RewriteResult:
    """The translation again, with the innermost statements whose translation does not parse on
    its own left as they are (and an error on each); TranslationError when that does not help."""
    spans = _unparsable_spans(source, job)
    if spans:
        result = _rewrite(source, job, None, keep=(spans, error[0]))
        if _output_error(result.code, job.path) is None:
            return result
        error = _output_error(result.code, job.path) or error
    where = f" (line {error[1]} of the output)" if error[1] else ""
    raise TranslationError(f"[output-syntax] the translation is not valid Python: {error[0]}{where}; nothing written")


def _unparsable_spans(source: str, job: Job) -> set[tuple[int, int]]:
    """The spans of the innermost statements whose translation alone does not parse."""
    found: list[tuple[int, int]] = []
    _rewrite(source, job, None, found=found)
    found.sort(key=lambda span: (span[0], -span[1]))
    return {s for s in found if not any(o != s and s[0] <= o[0] and o[1] <= s[1] for o in found)}


def _rewrite(
    source: str,
    job: Job,
    plan: Plan | None,
    keep: tuple[set[tuple[int, int]], str] | None = None,
    found: list[tuple[int, int]] | None = None,
    piece: chunked.Piece | None = None,
) -> RewriteResult:
    """The translation; with a plan, of a tree where framework-free classes, functions and lines
    are stand-ins (see plan_stand_ins) that cost next to nothing to parse, skip and emit."""
    path, direction, rules = job.path, job.direction, job.rules
    try:
        module = cst.parse_module(source if plan is None else plan.reduced)
    except cst.ParserSyntaxError as exc:
        if plan is not None:
            raise SpliceError("the reduced source does not parse") from None
        raise _syntax_error(source, path, exc) from None
    if plan is not None:
        module = install_stand_ins(module, plan)
    faults = fault_count()  # stand-ins emitted out of place from here on: translate whole
    imports = ImportMap.from_module(
        module, direction.source_roots, direction.canonical if direction.canonical_prefixes else None
    )
    if imports.star_modules:
        imports.star_free = free_globals(source)
    star_names = frozenset(rules.calls) | frozenset(rules.attributes) if imports.star_modules else frozenset()
    ctx = Context(
        path=path,
        direction=direction,
        rules=rules,
        imports=imports,
        star_names=star_names,
        self_attrs=plan.self_attrs if plan is not None else frozenset(SELF_ATTR.findall(source)),
        source=source,
        layout=job.layout,
    )
    if piece is not None:  # a piece of a long file: what the whole file's text says
        ctx.self_attrs, ctx.piece = piece.facts.self_attrs, True
        imports.local_names |= piece.facts.local_names
        if not imports.framework_imports or imports.star_modules:
            raise chunked.Unsafe("no framework import")
    if not imports.framework_imports:
        return RewriteResult(source, [])  # no framework code: unchanged
    ctx.target_imports.update(direction.target_imports)
    ctx.suppressed = suppress.checker(module, source)  # `# fwtranslate: ignore[RULE]` comments
    ctx.dropped = recognise_support(module, source, direction.name, imports)  # round trips
    passes = direction.passes
    spans = statement_spans(module, source, plan.tree if plan is not None else None)
    if plan is not None:
        plan.tree = None  # type: ignore[assignment]  # a tree as big as the file's: not kept
    variable = plan.variable if plan is not None else variable_attributes(source)
    if piece is not None:
        variable = piece.facts.variable
    interesting = interesting_names(ctx, source, variable)
    # `self.relu(x)` calls a sub-layer, not Tensor.relu: such attributes say nothing
    sublayers = sublayer_attributes(ctx.self_attrs, variable, rules)
    untouched = untouched_statements(
        module, source, spans, interesting, sublayers, plan.words if plan is not None else None
    )
    if plan is not None:
        check_stand_ins_untouched(module, untouched)
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
            ctx.still_used.update(names.intersection(WORD.findall("\n".join(source.splitlines()[first - 1 : last]))))
    record = None if found is None else dict.fromkeys(spans)
    if piece is not None:
        piece.carry.seed(ctx)
    new_module = Driver(ctx, instances, untouched, record).walk(module)
    if found is not None:
        found.extend(_failing_spans(module, spans, record))  # type: ignore[arg-type]
    if plan is not None and any(
        isinstance(s, StandInClass) and s.name.value in ctx.module_classes for s in module.body
    ):
        raise SpliceError("a stand-in class shares its name with a model class")
    diagnostics = locate(module, ctx, path, spans, source)
    if kept:
        new_module, extra = _mark_kept(new_module, kept, spans, source, path, keep[1])  # type: ignore[index]
        diagnostics = sorted(diagnostics + extra, key=lambda d: (d.line, d.col, d.severity != ERROR))
    if piece is not None:
        chunked.piece_output(piece, module, new_module, spans, ctx)
        code = ""
    else:
        code = new_module.code
    if plan is not None and fault_count() != faults:
        raise SpliceError("a stand-in was moved or changed")
    return RewriteResult(code, diagnostics, set(imports.bindings), set(ctx.still_used))


def _kept_statements(module: cst.Module, spans: dict[int, tuple[int, int]], keep: set) -> list[cst.CSTNode]:
    found: list[cst.CSTNode] = []
    stack = list(module.body)
    while stack:
        stmt = stack.pop()
        if spans.get(id(stmt)) in keep:
            found.append(stmt)
            continue
        for block in cst_blocks(stmt):
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
        stack.extend(s for block in cst_blocks(stmt) for s in block)
        parts = (
            result.nodes
            if isinstance(result, cst.FlattenSentinel)
            else ([] if isinstance(result, cst.RemovalSentinel) else [result])
        )
        code = "".join(module.code_for_node(p) for p in parts)
        if _output_error(code, "<statement>") is not None:
            out.append(spans[id(stmt)])
    return out


def _mark_kept(
    module: cst.Module, kept: list, spans: dict[int, tuple[int, int]], source: str, path: str, message: str
) -> tuple[cst.Module, list[Diagnostic]]:
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
