"""Command line: ``fwtranslate SRC --to tf``, ``fwtranslate verify``, ``fwtranslate rules``,
``fwtranslate weights``.

Exit codes: 0 everything translated (or equivalent); 1 output written with unconverted
constructs (or not equivalent); 2 bad input or usage, nothing written.
"""
from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from . import __version__
from .api import Translation, read_source, translate, write_atomic
from .pipeline import TranslationError
from .report import ERROR, render_json
from .rules import RuleFileError, load_rules

TARGETS = ("tf",)
_DIRECTION_OF = {"tf": "torch_to_tf"}


class _DefaultGroup(click.Group):
    """``fwtranslate model.py --to tf`` runs ``translate``; subcommands keep their names."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["translate", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fwtranslate")
def main() -> None:
    """Translate deep-learning model source between PyTorch and TensorFlow/Keras.

    \b
    Examples:
      fwtranslate model.py --to tf                 # writes model_tf.py next to it
      fwtranslate model.py --to tf -o out.py --report-json report.json
      fwtranslate src/models --to tf -o out/       # a whole tree
      fwtranslate model.py --to tf --verify --entry Net --input-shape 2,3,32,32
      fwtranslate verify model.py model_tf.py --entry Net --input-shape 2,3,32,32
      fwtranslate rules list
    """


def _default_output(src: Path, to: str) -> Path:
    return src.with_name(f"{src.stem}_{to}{src.suffix}")


def _fail(message: str) -> None:
    click.echo(f"fwtranslate: error: {message}", err=True)
    sys.exit(2)


@main.command("translate")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help="Target framework: tf (PyTorch -> Keras 3).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (or folder for a tree).")
@click.option("--stdout", is_flag=True, help="Print the translation instead of writing a file.")
@click.option("--rules", "rule_files", multiple=True, type=click.Path(path_type=Path), help="Extra rule file (YAML); may repeat.")
@click.option("--report-json", type=click.Path(path_type=Path), help="Write diagnostics and per-file counts as JSON.")
@click.option("--diff", is_flag=True, help="Print a unified diff against the existing output instead of writing.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if the output file is missing or stale.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("--verify", "do_verify", is_flag=True, help="Verify the translation numerically (needs torch and tensorflow).")
@click.option("--entry", help="With --verify: the class or factory to build (dotted paths allowed).")
@click.option("--args", "args_json", default="[]", help="With --verify: JSON list of positional arguments for the entry.")
@click.option("--kwargs", "kwargs_json", default="{}", help="With --verify: JSON object of keyword arguments for the entry.")
@click.option("--input-shape", help="With --verify: e.g. 2,3,32,32 (several inputs: separate with ';').")
@click.option("--input-dtype", default=None, help="With --verify: float32, int64, ...")
@click.option("--examples", default=20, show_default=True, help="With --verify: Hypothesis examples.")
def translate_cmd(src: Path, to: str, output: Path | None, stdout: bool, rule_files: tuple[Path, ...],
                  report_json: Path | None, diff: bool, check: bool, quiet: bool, do_verify: bool,
                  entry: str | None, args_json: str, kwargs_json: str, input_shape: str | None,
                  input_dtype: str | None, examples: int) -> None:
    """Translate SRC (a file or a folder) to another framework.

    The input is never modified and never imported: translation is purely syntactic.
    Untranslated constructs are kept, marked with a "# fwtranslate: unconverted" comment and
    reported as path:line:col: severity [RULE] message.
    """
    if to not in TARGETS:
        _fail(f"unknown --to {to!r} (choose from: {', '.join(TARGETS)})")
    try:
        load_rules(_DIRECTION_OF[to], tuple(str(r) for r in rule_files))
    except (RuleFileError, OSError) as exc:
        _fail(str(exc))
    if not src.exists():
        _fail(f"{src} does not exist")
    if src.is_dir():
        if output is None:
            _fail("translating a folder needs -o OUTPUT_FOLDER")
        code = _translate_tree(src, output, to, rule_files, report_json, quiet)
        sys.exit(code)
    if output is not None and output.resolve() == src.resolve():
        _fail("the output path is the input file; the input is never overwritten")
    try:
        result = translate(read_source(src), to, path=str(src), rules=rule_files)
    except TranslationError as exc:
        where = f"{src}:{exc.line}:{exc.col}: " if exc.line else f"{src}: "
        click.echo(f"{where}error: {exc}", err=True)
        sys.exit(2)
    target = output or _default_output(src, to)
    _print_diagnostics(result, quiet)
    if report_json:
        write_atomic(report_json, render_json(result.diagnostics, [result.stats]))
    if stdout:
        click.echo(result.code, nl=False)
    elif diff or check:
        old = target.read_text(encoding="utf-8") if target.exists() else ""
        if diff:
            click.echo("".join(difflib.unified_diff(old.splitlines(True), result.code.splitlines(True),
                                                    str(target), str(target))), nl=False)
        if old != result.code:
            sys.exit(1)
    else:
        try:
            write_atomic(target, result.code)
        except OSError as exc:
            _fail(f"cannot write {target}: {exc.strerror}")
        if not quiet:
            click.echo(f"wrote {target}", err=True)
    if do_verify:
        if not entry:
            _fail("--verify needs --entry")
        from .verify.cli_support import run_verify_cli

        sys.exit(run_verify_cli(str(src), str(target), entry, args_json, kwargs_json, input_shape,
                                input_dtype, examples, to=to))
    sys.exit(0 if result.ok else 1)


def _print_diagnostics(result: Translation, quiet: bool) -> None:
    for d in result.diagnostics:
        if quiet and d.severity != ERROR:
            continue
        click.echo(d.format(), err=True)


def _translate_tree(src: Path, out: Path, to: str, rule_files, report_json: Path | None, quiet: bool) -> int:
    results: list[Translation] = []
    files = sorted(p for p in src.rglob("*.py") if p.is_file())
    failed = False
    for path in files:
        rel = path.relative_to(src)
        try:
            result = translate(read_source(path), to, path=str(path), rules=rule_files)
        except TranslationError as exc:
            click.echo(f"{path}:{exc.line}:{exc.col}: error: {exc}", err=True)
            failed = True
            continue
        _print_diagnostics(result, quiet)
        write_atomic(out / rel, result.code)
        results.append(result)
    if report_json:
        diags = [d for r in results for d in r.diagnostics]
        write_atomic(report_json, render_json(diags, [r.stats for r in results]))
    if not quiet:
        click.echo(f"translated {len(results)} file(s) into {out}", err=True)
    if failed:
        return 2
    return 0 if all(r.ok for r in results) else 1


@main.group("rules")
def rules_cmd() -> None:
    """Browse the translation rules and their examples."""


@rules_cmd.command("list")
@click.option("--to", "to", default="tf", show_default=True)
def rules_list(to: str) -> None:
    """List every rule: source API -> target."""
    ruleset = load_rules(_DIRECTION_OF[to])
    for rule in ruleset.all_rules():
        click.echo(f"{rule.name:45s} {rule.variants[-1].source}")


@rules_cmd.command("show")
@click.argument("name")
@click.option("--to", "to", default="tf", show_default=True)
def rules_show(name: str, to: str) -> None:
    """Show one rule with its documentation and examples."""
    ruleset = load_rules(_DIRECTION_OF[to])
    rule = ruleset.find(name) or ruleset.find(f"torch.nn.{name}") or ruleset.find(f"torch.{name}")
    if rule is None:
        _fail(f"no rule named {name!r}")
    click.echo(f"{rule.name}  ({rule.file.name})")
    if rule.signature:
        click.echo(f"  signature: {rule.signature.text}")
    if rule.doc:
        click.echo(f"  {rule.doc}")
    for v in rule.variants:
        cond = v.when or v.when_known
        click.echo(f"  -> {v.source}" + (f"    when {cond}" if cond else ""))
    for c in rule.unsupported:
        click.echo(f"  unsupported when {c.when}: {c.message}")
    for ex in rule.examples:
        click.echo(f"  example: {ex.before}  =>  {ex.after}")


@main.command("verify")
@click.argument("original", type=click.Path(exists=True, dir_okay=False))
@click.argument("translated", type=click.Path(exists=True, dir_okay=False))
@click.option("--entry", required=True, help="Class or factory to build; dotted paths allowed (EfficientNet.from_name).")
@click.option("--args", "args_json", default="[]", help="JSON list of positional arguments for the entry.")
@click.option("--kwargs", "kwargs_json", default="{}", help="JSON object of keyword arguments for the entry.")
@click.option("--input-shape", help="Input shape, e.g. 2,3,32,32; several inputs separated by ';'.")
@click.option("--input-dtype", default=None, help="float32 (default), float64, int64 (token ids) ...")
@click.option("--input-range", default=None, help="LOW,HIGH for drawn values (token ids: 0,VOCAB).")
@click.option("--examples", default=20, show_default=True, help="Number of Hypothesis-drawn inputs.")
@click.option("--float64", "float64", is_flag=True, help="Verify in double precision with tighter bounds.")
@click.option("--rtol", type=float, default=None)
@click.option("--atol", type=float, default=None)
@click.option("--device", default="auto", show_default=True, help="cpu, gpu or auto (GPU when present).")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_cmd(original: str, translated: str, entry: str, args_json: str, kwargs_json: str,
               input_shape: str | None, input_dtype: str | None, input_range: str | None, examples: int,
               float64: bool, rtol: float | None, atol: float | None, device: str, seed: int, as_json: bool) -> None:
    """Check numerically that TRANSLATED computes what ORIGINAL computes.

    This imports and runs both files (and the packages they import): only run it on code
    you trust. Exit 0 equivalent, 1 not equivalent, 2 could not run.
    """
    from .verify.cli_support import run_verify_cli

    sys.exit(run_verify_cli(original, translated, entry, args_json, kwargs_json, input_shape, input_dtype,
                            examples, input_range=input_range, float64=float64, rtol=rtol, atol=atol,
                            device=device, seed=seed, as_json=as_json))


if __name__ == "__main__":
    main()
