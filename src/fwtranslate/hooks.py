"""pre-commit entry points (.pre-commit-hooks.yaml), configured by ``[tool.fwtranslate]``.

- ``fwtranslate-mirror FILES...``: rewrite the translated mirror of every staged source (or of
  the source of a staged mirror) that is stale, and fail so the commit can be redone with
  the mirror staged, like a formatter. A staged pyproject.toml or rule file refreshes all.
- ``fwtranslate-check FILES...``: fail when a staged file has more untranslatable constructs
  (error diagnostics outside ``ignore``) than it had at HEAD, listing them as
  ``path:line:col: severity [RULE] message``. Constructs already committed do not block.

Exit codes: 0 nothing to do; 1 a mirror was rewritten or a construct was added; 2 bad
configuration, or a mirror that may not be written (outside the project, a symlink, a
device, a source or a settings file in its place), with nothing written.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import cast

import click

from .api import translate
from .config import Config, ConfigError, load
from .console import Console
from .directions import direction_for
from .errors import TranslationError
from .outputs import OutputError, Planned, preflight, write_all
from .report import ERROR, Diagnostic
from .rules import RuleFileError, load_rules
from .tree import FAILED, translate_one

_CONFIG_HELP = "The pyproject.toml to read (default: the nearest one above the current folder)."


def _load(pyproject: Path | None, out: Console) -> Config:
    """The configuration, its rule files loaded once up front: a bad one is exit 2, not a traceback."""
    try:
        cfg = load(pyproject)
        load_rules(direction_for(cfg.to).name, tuple(map(str, cfg.rules)))
    except (ConfigError, RuleFileError, OSError) as exc:
        out.error(str(exc))
        sys.exit(2)
    return cfg


def _shown(path: Path) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _unresolved(path: Path) -> Path:
    """Like _shown, but a symlink in the path is kept, not followed (to be refused)."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


# --- fwtranslate-mirror ---------------------------------------------------------------------------
@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "pyproject", type=click.Path(path_type=Path), help=_CONFIG_HELP)
@click.option("--all", "refresh_all", is_flag=True, help="Refresh every configured mirror, whatever FILES are.")
def mirror_main(files: tuple[Path, ...], pyproject: Path | None, refresh_all: bool) -> None:
    """Keep the translated mirrors of FILES up to date ([tool.fwtranslate] mirrors).

    \b
    Examples:
      fwtranslate-mirror models/net.py      # rewrites models_tf/net.py when stale
      fwtranslate-mirror --all
    """
    out = Console()
    cfg = _load(pyproject, out)
    if not cfg.mirrors:
        out.error(
            'no mirrors configured: add [tool.fwtranslate] mirrors = {"models/net.py" = '
            '"models_tf/net.py"} to pyproject.toml'
        )
        sys.exit(2)
    failed = False
    rewritten = []
    plans: list[Planned] = []
    for source in _sources(cfg, files, refresh_all):
        mirror = cfg.mirror_of(source)
        if mirror is None:
            continue
        if not source.is_file():
            out.error(
                f"{_shown(source)} (the source of {_shown(mirror)}) does not exist; "
                "update [tool.fwtranslate] mirrors or remove the mirror"
            )
            failed = True
            continue
        outcome = translate_one(Path(_shown(source)), Path(source.name), cfg.to, tuple(map(str, cfg.rules)), cfg.layout)
        if outcome.status == FAILED:
            _print_failure(outcome.error, outcome.path, outcome.line, outcome.col, out)
            failed = True
            continue
        # a mirror stays inside the project and is a regular file: a symlink in its place is
        # refused, never written through (it could lead onto any file)
        plan = Planned(_unresolved(mirror), outcome.data, source, root=cfg.root, links=False)
        if plan.stale or mirror.is_symlink():
            plans.append(plan)
    if plans:  # every mirror is checked before any is written: a refused one writes nothing
        protected = [*cfg.all_sources(), *cfg.rules, *([cfg.path] if cfg.path else [])]
        try:
            preflight(plans, protected)
        except OutputError as exc:
            out.error(str(exc))
            sys.exit(2)
    for plan in plans:
        try:
            write_all([plan])
        except OutputError as exc:
            out.error(str(exc))
            failed = True
            continue
        rewritten.append(plan)
        out.note(f"fwtranslate-mirror: rewrote {plan.target} (translated from {_shown(cast(Path, plan.source))})")
    if rewritten:
        out.note("fwtranslate-mirror: stage the rewritten mirror(s) and commit again")
    sys.exit(1 if failed or rewritten else 0)


def _sources(cfg: Config, files: tuple[Path, ...], refresh_all: bool) -> list[Path]:
    """The sources whose mirrors FILES concern: the files themselves, or the sources of mirrors."""
    settings = {cfg.path.resolve()} if cfg.path else set()
    if refresh_all or any(f.resolve() in settings or cfg.is_rule_file(f) for f in files):
        return cfg.all_sources()
    found: set[Path] = set()
    for f in files:
        if cfg.mirror_of(f) is not None:
            found.add(f.resolve())
        else:
            source = cfg.source_of(f)
            if source is not None:
                found.add(source.resolve())
    return sorted(found)


# --- fwtranslate-check ----------------------------------------------------------------------------
@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--config", "pyproject", type=click.Path(path_type=Path), help=_CONFIG_HELP)
@click.option(
    "--no-baseline", is_flag=True, help="Report every untranslatable construct, not only those added since HEAD."
)
def check_main(files: tuple[Path, ...], pyproject: Path | None, no_baseline: bool) -> None:
    """Fail when FILES gain constructs the translator cannot handle.

    Rules listed in [tool.fwtranslate] ignore are accepted, and so is a construct marked
    "# fwtranslate: ignore[RULE]" on its line.

    \b
    Examples:
      fwtranslate-check models/net.py
      fwtranslate-check --no-baseline models/*.py
    """
    out = Console()
    cfg = _load(pyproject, out)
    rules = tuple(map(str, cfg.rules))
    found = 0
    for path in files:
        if path.suffix != ".py" or cfg.source_of(path) is not None:  # mirrors are translations
            continue
        outcome = translate_one(path, Path(path.name), cfg.to, rules, cfg.layout)
        if outcome.status == FAILED:
            _print_failure(outcome.error, outcome.path, outcome.line, outcome.col, out)
            found += 1
            continue
        errors = _errors(outcome.diagnostics, cfg)
        if errors and not no_baseline:
            errors = _added(errors, _errors_at_head(path, cfg, rules))
        for d in errors:
            out.diagnostic(d)
        found += len(errors)
    if found:
        out.note(
            f"fwtranslate-check: {found} untranslatable construct(s) {'found' if no_baseline else 'added'}; "
            "translate them, add a rule "
            "(rules = [...]), or accept one with '# fwtranslate: ignore[RULE]' on its line"
        )
    sys.exit(1 if found else 0)


def _errors(diagnostics: list[Diagnostic], cfg: Config) -> list[Diagnostic]:
    return [d for d in diagnostics if d.severity == ERROR and d.code not in cfg.ignore]


def _added(errors: list[Diagnostic], before: list[Diagnostic]) -> list[Diagnostic]:
    """The errors of kinds (rule and message) that occur more often than they did before.
    Line numbers move between versions, so occurrences are counted, not matched by place."""
    old = Counter((d.code, d.message) for d in before)
    new = Counter((d.code, d.message) for d in errors)
    return [d for d in errors if new[(d.code, d.message)] > old[(d.code, d.message)]]


def _errors_at_head(path: Path, cfg: Config, rules: tuple[str, ...]) -> list[Diagnostic]:
    """The file's errors as committed at HEAD; none for a new file or outside a git repository."""
    try:
        rel = Path(os.path.relpath(path)).as_posix()  # "HEAD:./x" is relative to the current folder
        proc = subprocess.run(["git", "show", f"HEAD:./{rel}"], capture_output=True, timeout=60)  # noqa: S607 - the git on PATH, as pre-commit runs it
    except (OSError, subprocess.SubprocessError):
        return []
    if proc.returncode != 0:
        return []
    try:
        source = proc.stdout.decode("utf-8-sig")
        return _errors(translate(source, cfg.to, path=str(path), rules=rules, layout=cfg.layout).diagnostics, cfg)
    except (UnicodeDecodeError, TranslationError, RecursionError):
        return []


def _print_failure(message: str, path: Path, line: int, col: int, out: Console) -> None:
    if line:
        out.located_error(str(path), line, col, message)
    else:
        out.error(message)
