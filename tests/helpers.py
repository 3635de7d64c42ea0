"""Helpers shared by the test folders (tests/common, tests/torch_to_tf, tests/tf_to_torch).

tests/conftest.py puts this folder on ``sys.path`` and serves these as fixtures (``cli``,
``translate_exec``); module-level helpers of a test file import them from here by name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def fwtranslate_command(program: str = "fwtranslate") -> list[str]:
    """The console script installed next to this interpreter; the module when there is none."""
    bindir = Path(sys.executable).parent
    for name in (program, f"{program}.exe"):
        if (bindir / name).is_file():
            return [str(bindir / name)]
    return [sys.executable, "-m", "fwtranslate.cli"]


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str
    output: str  # stdout then stderr (in process: as click's runner mixed them)


def run_cli(
    *args,
    cwd: Path | str | None = None,
    program: str = "fwtranslate",
    env: dict[str, str | None] | None = None,
    in_process: bool = False,
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
) -> CliResult:
    """Run the command line ``program *args`` in ``cwd``: in a new process (the installed console
    script; ``env`` on top of this process' environment with NO_COLOR=1, a None value removing a
    variable), or with ``in_process`` in this one through click's runner (same command, no
    interpreter start-up; ``fwtranslate`` only)."""
    if in_process:
        from click.testing import CliRunner

        from fwtranslate.cli import main

        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
        finally:
            os.chdir(old)
        return CliResult(result.exit_code, result.stdout, result.stderr, result.output)
    merged = {**os.environ, "NO_COLOR": "1", **(env or {})}
    proc = subprocess.run(
        [*fwtranslate_command(program), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={k: v for k, v in merged.items() if v is not None},
        preexec_fn=preexec_fn,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, proc.stdout + proc.stderr)


def translate_and_exec(source: str, to: str = "tf", *, filename: str = "<translation>") -> tuple[dict, str]:
    """Translate ``source`` to ``to`` (no error allowed) and run the translation in a new
    namespace: (that namespace, the translated code)."""
    import fwtranslate

    result = fwtranslate.translate(source, to=to)
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    namespace: dict = {}
    exec(compile(result.code, filename, "exec"), namespace)
    return namespace, result.code


def support_sources(direction: str) -> dict[str, str]:
    """Name -> the exact source of each support definition shipped for ``direction``, with its
    decorators (``@keras.saving.register_keras_serializable``), as a translation copies it."""
    import ast

    from fwtranslate.rules.loader import builtin_rules_dir

    out = {}
    for path in sorted((builtin_rules_dir() / direction).glob("support*.py")):
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for node in ast.parse(text).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                out[node.name] = "\n".join(lines[first - 1 : node.end_lineno])
    return out
