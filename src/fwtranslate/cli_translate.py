"""The work of ``fwtranslate SRC --to tf``: one file or a folder, written, checked or diffed.

Exit codes: 0 everything translated; 1 output written (or would change, with --check/--diff)
or untranslated constructs; 2 bad input or usage, with nothing written.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from .console import Console
from .outputs import OutputError, Planned, preflight, unified_diff, write_all
from .report import ERROR, WARNING, render_json
from .tree import COPIED, FAILED, SKIPPED, FileOutcome, TreeError, copy_one, translate_all, walk


class UsageFailure(Exception):
    """Bad input or usage: exit 2, nothing written."""


@dataclass
class Options:
    to: str
    output: Path | None = None
    output_is_folder: bool = False  # -o ended with "/": write into it, like cp
    in_place: bool = False
    stdout: bool = False
    check: bool = False
    diff: bool = False
    rules: tuple[str, ...] = ()
    layout: str = "torch"  # PyTorch -> Keras: the models' interface (passes/torch_to_tf/layout.py)
    report_json: Path | None = None
    jobs: int | None = None
    copy_other: bool = False
    with_deps: bool = False  # a file inside a package: also the package modules it imports


def default_output(src: Path, to: str) -> Path:
    return src.with_name(f"{src.stem}_{to}{src.suffix}")


def run(src: Path, opts: Options, out: Console) -> tuple[int, Path | None]:
    """Translate ``src``; returns (exit code, the output file for a single file)."""
    if opts.in_place and (opts.output or opts.stdout):
        raise UsageFailure("--in-place writes the translation over the input: drop -o/--stdout")
    if opts.stdout and (opts.check or opts.diff):
        raise UsageFailure("--stdout prints the translation; --check and --diff compare it with a file")
    if opts.report_json is not None and opts.report_json.is_dir():
        raise UsageFailure(f"--report-json {opts.report_json} is a directory; give a file path")
    if opts.report_json is not None and opts.report_json.exists() and not opts.report_json.is_file():
        raise UsageFailure(f"--report-json {opts.report_json} is not a regular file; give a file path")
    if not src.exists():
        raise UsageFailure(f"{src} is a symlink loop or a broken link" if src.is_symlink() else f"{src} does not exist")
    if src.is_dir():
        if opts.with_deps:
            raise UsageFailure("--with-deps is for one file inside a package; a folder is translated whole")
        return _folder(src, opts, out), None
    if opts.with_deps:
        return _with_deps(src, opts, out)
    return _file(src, opts, out)


# --- one file and the package modules it needs ----------------------------------------------------
def _with_deps(src: Path, opts: Options, out: Console) -> tuple[int, Path]:
    """Translate the modules of ``src``'s package that importing it runs (fwtranslate.closure),
    into -o as a package tree with the same dotted names; returns (exit code, src's translation)."""
    from .closure import ClosureError, closure, stage

    if opts.output is None or opts.in_place or opts.stdout:
        raise UsageFailure("--with-deps writes a package tree: give -o OUTPUT_FOLDER")
    try:
        found = closure(src)
    except ClosureError as exc:
        raise UsageFailure(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="fwtranslate-deps-") as tmp:
        stage(found, Path(tmp))
        out.note(
            f"{src}: translating {len(found.modules)} module(s) of the {found.start.split('.')[0]!r} "
            f"package that importing {found.start} runs"
        )
        code = _folder(Path(tmp), opts, out, shown_as=found.root)
    return code, opts.output / src.resolve().relative_to(found.root)


# --- one file ------------------------------------------------------------------------------------
def _file(src: Path, opts: Options, out: Console) -> tuple[int, Path]:
    target = src if opts.in_place else _file_target(src, opts)
    if not opts.in_place and not opts.stdout and _same_file(target, src):
        raise UsageFailure("the output path is the input file; the input is never overwritten (--in-place replaces it)")
    [outcome] = translate_all([(src, Path(src.name), opts.to, opts.rules, opts.layout)], jobs=1)
    if outcome.status == FAILED:
        _print_failure(outcome, out)
        return 2, target
    for d in outcome.diagnostics:
        out.diagnostic(d)
    plans = [Planned(target, outcome.data, src)]
    reports = _report_plans(opts, [outcome])
    if opts.stdout:
        _write_reports(reports, [src])
        click.echo(outcome.data.decode("utf-8"), nl=False)
        return _code([outcome]), target
    if opts.check or opts.diff:
        _write_reports(reports, [src])
        return max(_compare(plans, opts, out), _code([outcome])), target
    written, _ = _write(plans + reports, inputs=[] if opts.in_place else [src])
    skipped = " (no framework code: copied unchanged)" if outcome.status == SKIPPED else ""
    out.note(f"wrote {target}{skipped}" if target in written else f"{target} is up to date{skipped}")
    return _code([outcome]), target


def _file_target(src: Path, opts: Options) -> Path:
    if opts.output is None:
        return default_output(src, opts.to)
    if opts.output.is_dir() or opts.output_is_folder:  # like cp: into the folder
        return opts.output / src.name
    return opts.output


# --- a folder ------------------------------------------------------------------------------------
def _folder(src: Path, opts: Options, out: Console, shown_as: Path | None = None) -> int:
    """``shown_as``: the folder to name in messages instead of ``src`` (a staged copy of it)."""
    if opts.stdout:
        raise UsageFailure("--stdout needs a single file, not a folder")
    if opts.in_place:
        dest = src
    elif opts.output is None:
        raise UsageFailure("translating a folder needs -o OUTPUT_FOLDER (or --in-place)")
    else:
        dest = opts.output
        if _same_file(dest, src):
            raise UsageFailure(
                "the output folder is the input folder; the input is never overwritten (--in-place replaces its files)"
            )
        if dest.exists() and not dest.is_dir():
            raise UsageFailure(
                f"-o {dest} is a file; a folder's translation needs an output folder"
                if dest.is_file()
                else f"-o {dest} is not a folder; a folder's translation needs an output folder"
            )
        if _inside(dest, src):
            raise UsageFailure(
                "the output folder is inside the input folder; the input is never overwritten "
                "(give an output folder outside it)"
            )
    try:
        files = walk(src, skip=[] if opts.in_place else [dest])
    except TreeError as exc:
        raise UsageFailure(str(exc)) from None
    python = [rel for rel in files if rel.suffix == ".py"]
    tasks = [(src / rel, rel, opts.to, opts.rules, opts.layout) for rel in python]
    with _progress(out, len(tasks)) as tick:
        outcomes = translate_all(tasks, opts.jobs or os.cpu_count() or 1, tick)
    if shown_as is not None:
        outcomes = [_shown_as(o, src, shown_as) for o in outcomes]
    if opts.copy_other and not opts.in_place:
        outcomes += [copy_one(src / rel, rel) for rel in files if rel.suffix != ".py" and _copyable(src, rel)]
    for o in outcomes:
        for d in o.diagnostics:
            out.diagnostic(d)
    failed = [o for o in outcomes if o.status == FAILED]
    if failed:
        for o in failed:
            _print_failure(o, out)
        out.error(f"{len(failed)} of {len(outcomes)} file(s) could not be translated; nothing written")
        return 2
    plans = [Planned(dest / o.rel, o.data, o.path, root=dest) for o in outcomes]
    reports = _report_plans(opts, [o for o in outcomes if o.stats is not None])
    if opts.check or opts.diff:
        _write_reports(reports, [src / rel for rel in files])
        return max(_compare(plans, opts, out), _code(outcomes))
    for o in outcomes:
        out.detail(_describe(o, dest))
    inputs = [] if opts.in_place else [src / rel for rel in files]
    written, current = _write(plans + reports, inputs=inputs, tree=dest)
    counts = {s: sum(o.status == s for o in outcomes) for s in ("translated", SKIPPED, COPIED)}
    out.note(
        f"{dest}: {counts['translated']} translated, {counts[SKIPPED]} skipped (no framework code, "
        f"copied unchanged)"
        + (f", {counts[COPIED]} other file(s) copied" if opts.copy_other else "")
        + f"; {len([p for p in plans if p.target in written])} written, "
        f"{len([p for p in plans if p.target in current])} already up to date"
    )
    return _code(outcomes)


def _shown_as(o: FileOutcome, staged: Path, shown: Path) -> FileOutcome:
    """An outcome of a staged copy, its paths named as in the original tree."""

    def rename(path: str) -> str:
        return path.replace(str(staged), str(shown), 1)

    return dataclasses.replace(
        o,
        path=shown / o.rel,
        error=rename(o.error),
        diagnostics=[dataclasses.replace(d, path=rename(d.path)) for d in o.diagnostics],
    )


def _describe(o: FileOutcome, dest: Path) -> str:
    if o.status == SKIPPED:
        return f"skipped {o.path} (no framework code: copied unchanged)"
    if o.status == COPIED:
        return f"copied {o.path} -> {dest / o.rel}"
    errors = sum(d.severity == ERROR for d in o.diagnostics)
    warnings = sum(d.severity == WARNING for d in o.diagnostics)
    return f"translated {o.path} -> {dest / o.rel} ({errors} error(s), {warnings} warning(s))"


@contextmanager
def _progress(out: Console, total: int) -> Iterator:
    """A progress bar on stderr, only for a terminal (never in logs) and more than one file."""
    if out.quiet or total < 2 or not _isatty(sys.stderr):
        yield lambda: None
        return
    with click.progressbar(length=total, label="translating", file=sys.stderr) as bar:
        yield lambda: bar.update(1)


# --- shared ------------------------------------------------------------------------------------------
def _write(
    plans: list[Planned], inputs: Iterable[Path] = (), tree: Path | None = None
) -> tuple[list[Path], list[Path]]:
    """Check every output, then write: a folder's outputs (inside ``tree``) all together. No
    output may land on one of ``inputs``."""
    try:
        preflight(plans, inputs)
        written, current = write_all(plans, tree)
    except OutputError as exc:
        raise UsageFailure(str(exc)) from None
    return written, current


def _write_reports(reports: list[Planned], inputs: Iterable[Path] = ()) -> None:
    if reports:
        _write(reports, inputs)


def _report_plans(opts: Options, outcomes: list[FileOutcome]) -> list[Planned]:
    if opts.report_json is None:
        return []
    diags = [d for o in outcomes for d in o.diagnostics]
    text = render_json(diags, [o.stats for o in outcomes if o.stats is not None])
    return [Planned(opts.report_json, text.encode("utf-8"), None)]


def _compare(plans: list[Planned], opts: Options, out: Console) -> int:
    """--check / --diff: 1 when an output is missing or would change."""
    stale = [p for p in plans if p.stale]
    for p in stale:
        if opts.diff:
            click.echo(unified_diff(p), nl=False)
        out.note(f"would rewrite {p.target}")
    if not stale:
        out.note(f"{len(plans)} output(s) up to date")
    return 1 if stale else 0


def _code(outcomes: list[FileOutcome]) -> int:
    return 0 if all(o.ok for o in outcomes) else 1


def _print_failure(o: FileOutcome, out: Console) -> None:
    if o.line:
        out.located_error(str(o.path), o.line, o.col, o.error)
    else:
        out.error(o.error)


def _copyable(src: Path, rel: Path) -> bool:
    """--copy-other copies files of the tree only: one that a symlink leads to outside the
    folder (``notes.txt -> /etc/shadow``) is skipped with a warning, never copied."""
    path = src / rel
    if _inside(path, src):
        return True
    click.echo(f"fwtranslate: warning: not copying {path}: a symbolic link leads outside {src}", err=True)
    return False


def _inside(a: Path, b: Path) -> bool:
    """``a`` is ``b`` or below it, symlinks resolved."""
    try:
        a, b = a.resolve(), b.resolve()
    except (OSError, RuntimeError):
        return False
    return a == b or b in a.parents


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
