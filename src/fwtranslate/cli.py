"""Command line: ``fwtranslate SRC --to tf``, ``fwtranslate verify``, ``fwtranslate rules``,
``fwtranslate weights``.

Exit codes: 0 everything translated (or equivalent); 1 output written with unconverted
constructs (or not equivalent); 2 bad input or usage, nothing written.
"""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import click

from . import __version__
from .console import Console
from .directions import LAYOUTS, TARGETS, direction_for
from .rules import RuleFileError, load_rules


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
      fwtranslate src/models --to tf -o out/ -j 4  # a whole tree, on 4 processes
      fwtranslate model.py --to tf --check         # exit 1 if model_tf.py is missing or stale
      fwtranslate model.py --to tf --diff
      fwtranslate model.py --to tf --verify --entry Net --input-shape 2,3,32,32
      fwtranslate verify model.py model_tf.py --entry Net --input-shape 2,3,32,32
      fwtranslate rules list

    Translation never imports or runs your code; verify (and weights) do. pre-commit hooks:
    fwtranslate-mirror and fwtranslate-check (docs/precommit.md).
    """


def _fail(message: str) -> None:
    Console().error(" ".join(message.split()))  # one line, even for a YAML parser's report
    sys.exit(2)


@main.command("translate")
@click.argument("src", type=click.Path(path_type=Path))
@click.option("--to", "to", required=True, help="Target framework: tf (PyTorch -> Keras 3).")
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Output file, or folder (for a folder; for a file, written into it). "
    "Default for a file: NAME_tf.py next to it.",
)
@click.option(
    "-i", "--in-place", is_flag=True, help="Replace the input with its translation (never done unless asked)."
)
@click.option("--stdout", is_flag=True, help="Print the translation of a file instead of writing it.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if an output is missing or would change.")
@click.option("--diff", is_flag=True, help="Write nothing; print a unified diff against the existing output(s).")
@click.option(
    "--rules", "rule_files", multiple=True, type=click.Path(path_type=Path), help="Extra rule file (YAML); may repeat."
)
@click.option("--report-json", type=click.Path(path_type=Path), help="Write diagnostics and per-file counts as JSON.")
@click.option(
    "--layout",
    type=click.Choice(LAYOUTS),
    default="torch",
    show_default=True,
    help="PyTorch -> Keras: the models' interface. torch: NCHW in and out (channels last inside); "
    "keras: channels-last in and out; channels-first: layer by layer, no layout plan.",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help="Processes translating a folder's files (default: one per core).",
)
@click.option(
    "--copy-other", is_flag=True, help="For a folder: also copy the files that are not Python (left out by default)."
)
@click.option(
    "--with-deps",
    is_flag=True,
    help="For a file inside a package: also translate the package's modules that importing it runs "
    "(its relative imports and theirs), into -o as a package tree.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print errors only.")
@click.option("-v", "--verbose", is_flag=True, help="Also print one line per file.")
@click.option(
    "--verify",
    "do_verify",
    is_flag=True,
    help="Verify the translation numerically (imports and runs both files; needs torch and tensorflow).",
)
@click.option("--entry", help="With --verify: the class or factory to build (dotted paths allowed).")
@click.option(
    "--args", "args_json", default="[]", help="With --verify: JSON list of positional arguments for the entry."
)
@click.option(
    "--kwargs", "kwargs_json", default="{}", help="With --verify: JSON object of keyword arguments for the entry."
)
@click.option("--input-shape", help="With --verify: e.g. 2,3,32,32 (several inputs: separate with ';').")
@click.option("--input-dtype", default=None, help="With --verify: float32, int64, ...")
@click.option("--examples", default=20, show_default=True, help="With --verify: Hypothesis examples.")
def translate_cmd(
    src: Path,
    to: str,
    output: str | None,
    in_place: bool,
    stdout: bool,
    check: bool,
    diff: bool,
    rule_files: tuple[Path, ...],
    report_json: Path | None,
    layout: str,
    jobs: int | None,
    copy_other: bool,
    with_deps: bool,
    quiet: bool,
    verbose: bool,
    do_verify: bool,
    entry: str | None,
    args_json: str,
    kwargs_json: str,
    input_shape: str | None,
    input_dtype: str | None,
    examples: int,
) -> None:
    """Translate SRC (a file or a folder) to another framework.

    The input is never modified (unless --in-place) and never imported or run: translation is
    purely syntactic. Untranslated constructs are kept, marked with a
    "# fwtranslate: unconverted" comment and reported as path:line:col: severity [RULE] message;
    "# fwtranslate: ignore[RULE]" on a construct's line accepts it as it is.
    A folder is translated file by file into -o (Python files without framework code are
    copied unchanged; other files only with --copy-other; hidden folders are left out).

    \b
    Examples:
      fwtranslate model.py --to tf                   # writes model_tf.py
      fwtranslate model.py --to tf -o out/           # writes out/model.py
      fwtranslate model.py --to tf --stdout | less
      fwtranslate model.py --to tf --check           # CI: exit 1 if model_tf.py is stale
      fwtranslate src/models --to tf -o out/ -j 4 --report-json report.json
      fwtranslate src/models --to tf -o out/ --diff
      fwtranslate torchvision/models/resnet.py --to tf --with-deps -o out/   # + the modules it imports

    Exit codes: 0 all translated; 1 untranslated constructs, or (--check/--diff) an output
    would change; 2 bad input or usage, nothing written.
    """
    from .cli_translate import Options, UsageFailure, run

    console = Console(quiet=quiet, verbose=verbose)
    if quiet and verbose:
        _fail("choose --quiet or --verbose, not both")
    if to not in TARGETS:
        _fail(f"unknown --to {to!r} (choose from: {', '.join(TARGETS)})")
    try:
        load_rules(direction_for(to), tuple(str(r) for r in rule_files))
    except (RuleFileError, OSError) as exc:
        _fail(str(exc))
    if layout != "torch" and not direction_for(to).chooses_layout:
        _fail("--layout is for PyTorch -> Keras (--to tf) only")
    if do_verify and (not entry or src.is_dir() or stdout or check or diff):
        _fail("--verify needs --entry and a single file that is written (not --stdout/--check/--diff)")
    opts = Options(
        to=to,
        output=Path(output) if output else None,
        in_place=in_place,
        output_is_folder=bool(output and output.endswith(("/", os.sep))),
        stdout=stdout,
        check=check,
        diff=diff,
        rules=tuple(str(r) for r in rule_files),
        layout=layout,
        report_json=report_json,
        jobs=jobs,
        copy_other=copy_other,
        with_deps=with_deps,
    )
    try:
        code, target = run(src, opts, console)
    except UsageFailure as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        console.error("interrupted")
        sys.exit(130)
    if do_verify and code != 2:
        from .verify.cli_support import run_verify_cli

        sys.exit(
            run_verify_cli(
                str(src), str(target), entry or "", args_json, kwargs_json, input_shape, input_dtype, examples, to=to
            )
        )
    sys.exit(code)


@main.group("rules")
def rules_cmd() -> None:
    """Browse the translation rules and their examples.

    \b
    Examples:
      fwtranslate rules list                 # every rule: source API -> target
      fwtranslate rules list conv            # those whose name contains "conv"
      fwtranslate rules show Conv2d          # one rule, with its conditions and examples
      fwtranslate rules show torch.nn.functional.gelu --rules my_rules.yaml
    """


def _ruleset(to: str, rule_files: tuple[Path, ...]):
    if to not in TARGETS:
        _fail(f"unknown --to {to!r} (choose from: {', '.join(TARGETS)})")
    try:
        return load_rules(direction_for(to), tuple(str(r) for r in rule_files))
    except (RuleFileError, OSError) as exc:
        _fail(str(exc))


@rules_cmd.command("list")
@click.argument("pattern", required=False)
@click.option("--to", "to", default="tf", show_default=True)
@click.option(
    "--rules", "rule_files", multiple=True, type=click.Path(path_type=Path), help="Extra rule file (YAML); may repeat."
)
def rules_list(pattern: str | None, to: str, rule_files: tuple[Path, ...]) -> None:
    """List every rule (or those whose name contains PATTERN): source API -> target."""
    ruleset = _ruleset(to, rule_files)
    shown = [r for r in ruleset.all_rules() if not pattern or pattern.lower() in r.name.lower()]
    for rule in shown:
        click.echo(f"{rule.name:45s} {rule.variants[-1].source}")
    if not shown:
        _fail(f"no rule name contains {pattern!r}")


@rules_cmd.command("show")
@click.argument("name")
@click.option("--to", "to", default="tf", show_default=True)
@click.option(
    "--rules", "rule_files", multiple=True, type=click.Path(path_type=Path), help="Extra rule file (YAML); may repeat."
)
def rules_show(name: str, to: str, rule_files: tuple[Path, ...]) -> None:
    """Show one rule (NAME: torch.nn.Conv2d, Conv2d, Tensor.view...) with its examples."""
    ruleset = _ruleset(to, rule_files)
    rule = ruleset.find(name) or ruleset.find(f"torch.nn.{name}") or ruleset.find(f"torch.{name}")
    if rule is None:
        names = [r.name for r in ruleset.all_rules()]
        close = difflib.get_close_matches(name, names + [n.rsplit(".", 1)[-1] for n in names], n=3)
        _fail(
            f"no rule named {name!r}"
            + (f"; did you mean: {', '.join(close)}?" if close else " (fwtranslate rules list shows them all)")
        )
    click.echo(f"{rule.name}  ({rule.file.name})")
    if rule.signature:
        click.echo(f"  signature: {rule.signature.text}")
    if rule.doc:
        click.echo(f"  {rule.doc}")
    for v in rule.variants:
        cond = v.when or v.when_known
        click.echo(f"  -> {v.source}" + (f"    when {cond}" if cond else ""))
    if rule.ignore:
        click.echo(f"  ignored arguments: {', '.join(sorted(rule.ignore))}")
    for c in rule.unsupported:
        click.echo(f"  unsupported when {c.when}: {c.message}")
    for c in rule.warn:
        click.echo(f"  warning when {c.when}: {c.message}")
    for ex in rule.examples:
        click.echo(f"  example: {ex.before}  =>  {ex.after}")


def _model_options(shape_help: str):
    """The arguments every command that builds both models takes (verify, weights)."""
    options = [
        click.argument("original", type=click.Path(exists=True, dir_okay=False)),
        click.argument("translated", type=click.Path(exists=True, dir_okay=False)),
        click.option(
            "--entry", required=True, help="Class or factory to build; dotted paths allowed (EfficientNet.from_name)."
        ),
        click.option("--args", "args_json", default="[]", help="JSON list of positional arguments for the entry."),
        click.option("--kwargs", "kwargs_json", default="{}", help="JSON object of keyword arguments for the entry."),
        click.option("--input-shape", help=shape_help),
        click.option("--input-dtype", default=None, help="float32 (default), float64, int64 (token ids) ..."),
        click.option("--input-range", default=None, help="LOW,HIGH for drawn values (token ids: 0,VOCAB)."),
    ]

    def apply(command):
        for option in reversed(options):
            command = option(command)
        return command

    return apply


@main.command("verify")
@_model_options("Input shape, e.g. 2,3,32,32; several inputs separated by ';'.")
@click.option("--examples", default=20, show_default=True, help="Number of Hypothesis-drawn inputs.")
@click.option("--float64", "float64", is_flag=True, help="Verify in double precision with tighter bounds.")
@click.option("--rtol", type=float, default=None)
@click.option("--atol", type=float, default=None)
@click.option("--device", default="auto", show_default=True, help="cpu, gpu or auto (GPU when present).")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print one JSON object on stdout (what the verified code printed: its "output").',
)
@click.option(
    "--timeout",
    type=float,
    default=600,
    show_default=True,
    help="Seconds for the whole run (importing, building, every phase); 0: no limit.",
)
@click.option(
    "--train-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Training mode: N steps of --optimizer/--loss/--scheduler on both sides (same weights and "
    "batches), the loss and every parameter and state tensor compared after each step.",
)
@click.option("--optimizer", default=None, help="With --train-steps: factory in both files, make_optimizer(model).")
@click.option("--loss", default=None, help="With --train-steps: factory in both files, make_loss().")
@click.option("--scheduler", default=None, help="With --train-steps: factory in both files, make_scheduler(optimizer).")
@click.option(
    "--steps-per-epoch",
    type=click.IntRange(min=1),
    default=None,
    help="With --train-steps: scheduler.step() after every K steps (default: after all N).",
)
@click.option(
    "--target-shape",
    default=None,
    help="With --train-steps: e.g. 4 (default: the output's shape; integer targets: without its last axis).",
)
@click.option("--target-dtype", default=None, help="With --train-steps: float32 (default), int64 (class indices).")
@click.option(
    "--target-range", default=None, help="With --train-steps: LOW,HIGH (int64 default: 0,the output's last size)."
)
def verify_cmd(
    original: str,
    translated: str,
    entry: str,
    args_json: str,
    kwargs_json: str,
    input_shape: str | None,
    input_dtype: str | None,
    input_range: str | None,
    examples: int,
    float64: bool,
    rtol: float | None,
    atol: float | None,
    device: str,
    seed: int,
    as_json: bool,
    timeout: float,
    train_steps: int | None,
    optimizer: str | None,
    loss: str | None,
    scheduler: str | None,
    steps_per_epoch: int | None,
    target_shape: str | None,
    target_dtype: str | None,
    target_range: str | None,
) -> None:
    """Check numerically that TRANSLATED computes what ORIGINAL computes.

    This imports and runs both files (and the packages they import): only run it on code
    you trust. They run in a child process, killed after --timeout seconds; what they print
    goes to stderr, labelled (with --json: into the JSON object), never into the report.
    Exit 0 equivalent, 1 not equivalent, 2 could not run (an error, sys.exit, a crash or
    the timeout in the models' code: the reason is one line on stderr).

    \b
    Training mode (docs/training/verify.md):
      fwtranslate verify model.py model_tf.py --entry Net --input-shape 4,8 --train-steps 20 \\
          --optimizer make_optimizer --loss make_loss --scheduler make_scheduler --steps-per-epoch 5
    """
    from .verify.cli_support import run_verify_cli

    training = None
    if train_steps is not None:
        if not optimizer or not loss:
            _fail("--train-steps needs --optimizer and --loss (factories defined in both files)")
        training = {
            "train_steps": train_steps,
            "optimizer": optimizer,
            "loss": loss,
            "scheduler": scheduler,
            "steps_per_epoch": steps_per_epoch,
            "target_shape": target_shape,
            "target_dtype": target_dtype,
            "target_range": target_range,
        }
    elif any(
        v is not None for v in (optimizer, loss, scheduler, steps_per_epoch, target_shape, target_dtype, target_range)
    ):
        _fail("--optimizer, --loss, --scheduler, --steps-per-epoch and --target-* need --train-steps")

    sys.exit(
        run_verify_cli(
            original,
            translated,
            entry,
            args_json,
            kwargs_json,
            input_shape,
            input_dtype,
            examples,
            input_range=input_range,
            float64=float64,
            rtol=rtol,
            atol=atol,
            device=device,
            seed=seed,
            as_json=as_json,
            timeout=timeout,
            training=training,
        )
    )


@main.command("weights")
@_model_options("A sample input shape for the dry run that builds the Keras model (default: inferred).")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(dir_okay=False),
    help="state_dict.pt (torch -> Keras) or model.weights.h5 (Keras -> torch).",
)
@click.option(
    "--to",
    "destination",
    required=True,
    type=click.Path(dir_okay=False),
    help="out.weights.h5 or out.pt: the other framework's checkpoint.",
)
def weights_cmd(
    original: str,
    translated: str,
    entry: str,
    args_json: str,
    kwargs_json: str,
    input_shape: str | None,
    input_dtype: str | None,
    input_range: str | None,
    source: str,
    destination: str,
) -> None:
    """Convert a checkpoint between ORIGINAL (torch) and its translation TRANSLATED (Keras).

    \b
      fwtranslate weights model.py model_tf.py --entry Net --from net.pt --to net.weights.h5
      fwtranslate weights model.py model_tf.py --entry Net --from net.weights.h5 --to net.pt

    Imports and builds both models (only run it on code you trust); the checkpoint itself is read
    as tensors only. Exit 0 converted, 2 could not convert.
    """
    from .verify.cli_support import parse_json_args

    try:
        args, kwargs = parse_json_args(args_json, kwargs_json)
        from .verify.loading import LoadError
        from .verify.spec import SpecError
        from .weights.checkpoint import CheckpointError, convert_checkpoint
        from .weights.transfer import TransferError
    except (ValueError, ImportError) as exc:
        _fail(str(exc))
    try:
        done = convert_checkpoint(
            original, translated, entry, source, destination, args, kwargs, input_shape, input_dtype, input_range
        )
    except (CheckpointError, LoadError, SpecError, TransferError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        Console().error("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the models' code or a framework: one line, no traceback
        _fail(f"could not convert {source}: {type(exc).__name__}: {exc}")
    click.echo(f"wrote {done.describe()}", err=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
