"""Everyday command-line habits, through the real CLI: --check, --diff, -o, --in-place, --quiet,
--verbose, colour and progress on a terminal only, trees across processes, suppressions,
``rules list|show``, --version and help. (Exit codes of single files: tests/test_passes.py.)"""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from fwtranslate import __version__, translate
from helpers import fwtranslate_command
from helpers import run_cli as cli

GOOD = "import torch\n\nx = torch.cat([a, b], 1)\n"
PARTIAL = "import torch\n\nx = torch.cat([a, b], 1)\ny = torch.no_such_op(x)\n"
PLAIN = "import numpy as np\n\nx = np.zeros(3)\n"
ANSI = "\x1b["


def on_terminal(*args, cwd: Path, env: dict | None = None) -> tuple[int, str]:
    """Run with stdout and stderr on a pseudo-terminal, as in an interactive shell."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [*fwtranslate_command(), *map(str, args)],
        cwd=cwd,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={k: v for k, v in {**os.environ, "TERM": "xterm", **(env or {})}.items() if v is not None},
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=300), b"".join(chunks).decode("utf-8", "replace")


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def tree(tmp_path) -> Path:
    src = tmp_path / "models"
    (src / "blocks").mkdir(parents=True)
    (src / "net.py").write_text(GOOD)
    (src / "blocks" / "partial.py").write_text(PARTIAL)
    (src / "blocks" / "plain.py").write_text(PLAIN)
    (src / "README.md").write_text("# models\n")
    (src / ".hidden").mkdir()
    (src / ".hidden" / "x.py").write_text(GOOD)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "net.cpython-311.pyc").write_bytes(b"\x00")
    return src


# --- --check and --diff --------------------------------------------------------------------------------
def test_check_reports_missing_stale_and_current_outputs_and_writes_nothing(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    proc = cli("model.py", "--to", "tf", "--check", cwd=tmp_path)
    assert proc.returncode == 1 and "would rewrite model_tf.py" in proc.stderr
    assert files(tmp_path) == {"model.py": GOOD.encode()}
    assert cli("model.py", "--to", "tf", cwd=tmp_path).returncode == 0
    proc = cli("model.py", "--to", "tf", "--check", cwd=tmp_path)
    assert proc.returncode == 0 and "1 output(s) up to date" in proc.stderr
    (tmp_path / "model_tf.py").write_text("stale\n")
    assert cli("model.py", "--to", "tf", "--check", cwd=tmp_path).returncode == 1
    assert (tmp_path / "model_tf.py").read_text() == "stale\n"


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    (tmp_path / "model_tf.py").write_text("import keras\n\nx = old\n")
    proc = cli("model.py", "--to", "tf", "--diff", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[:2] == ["--- model_tf.py", "+++ model_tf.py"]
    assert "-x = old" in proc.stdout and "+x = keras.ops.concatenate([a, b], axis=1)" in proc.stdout
    assert (tmp_path / "model_tf.py").read_text() == "import keras\n\nx = old\n"


def test_check_and_diff_on_a_tree(tree, tmp_path):
    out = tmp_path / "out"
    assert cli(tree, "--to", "tf", "-o", out, cwd=tmp_path).returncode == 1  # partial.py: unconverted
    proc = cli(tree, "--to", "tf", "-o", out, "--check", cwd=tmp_path)
    assert proc.returncode == 1  # up to date, but an untranslated construct remains
    assert "would rewrite" not in proc.stderr and "3 output(s) up to date" in proc.stderr
    (out / "net.py").write_text("changed\n")
    proc = cli(tree, "--to", "tf", "-o", out, "--diff", cwd=tmp_path)
    assert proc.returncode == 1 and f"would rewrite {out / 'net.py'}" in proc.stderr
    assert "-changed" in proc.stdout and "blocks/plain.py" not in proc.stdout
    assert (out / "net.py").read_text() == "changed\n"


# --- outputs: -o, --stdout, --in-place; the input is never modified otherwise -------------------------
def test_output_into_a_folder_like_cp(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    assert cli("model.py", "--to", "tf", "-o", "build/", cwd=tmp_path).returncode == 0
    (tmp_path / "existing").mkdir()
    assert cli("model.py", "--to", "tf", "-o", "existing", cwd=tmp_path).returncode == 0
    expected = translate(GOOD).code.encode()
    assert files(tmp_path) == {"model.py": GOOD.encode(), "build/model.py": expected, "existing/model.py": expected}


def test_in_place_only_when_asked(tmp_path, tree):
    (tmp_path / "model.py").write_text(GOOD)
    for args in ([], ["--stdout"], ["--check"], ["--diff"], ["-o", "x.py"], ["--quiet"]):
        cli("model.py", "--to", "tf", *args, cwd=tmp_path)
        assert (tmp_path / "model.py").read_text() == GOOD, args
    proc = cli("model.py", "--to", "tf", "--in-place", cwd=tmp_path)
    assert proc.returncode == 0 and (tmp_path / "model.py").read_text() == translate(GOOD).code
    # a tree in place: translated files rewritten, the others untouched (same bytes, same mtime)
    plain = tree / "blocks" / "plain.py"
    mtime = plain.stat().st_mtime_ns
    proc = cli(tree, "--to", "tf", "-i", cwd=tmp_path)
    assert proc.returncode == 1  # partial.py keeps a marked construct
    assert (tree / "net.py").read_text() == translate(GOOD).code
    assert plain.read_text() == PLAIN and plain.stat().st_mtime_ns == mtime
    assert "# fwtranslate: unconverted" in (tree / "blocks" / "partial.py").read_text()


def test_an_up_to_date_output_is_not_rewritten(tmp_path):
    (tmp_path / "model.py").write_text(GOOD)
    assert cli("model.py", "--to", "tf", cwd=tmp_path).returncode == 0
    out = tmp_path / "model_tf.py"
    os.utime(out, ns=(1_000_000_000, 1_000_000_000))
    proc = cli("model.py", "--to", "tf", cwd=tmp_path)
    assert proc.returncode == 0 and "model_tf.py is up to date" in proc.stderr
    assert out.stat().st_mtime_ns == 1_000_000_000


# --- trees ---------------------------------------------------------------------------------------------
def test_tree_translates_copies_skips_and_reports(tree, tmp_path):
    out = tmp_path / "out"
    proc = cli(tree, "--to", "tf", "-o", out, "--verbose", cwd=tmp_path)
    assert proc.returncode == 1
    assert files(out) == {
        "net.py": translate(GOOD).code.encode(),
        "blocks/partial.py": translate(PARTIAL).code.encode(),
        "blocks/plain.py": PLAIN.encode(),
    }  # no README (no --copy-other), no hidden
    lines = proc.stderr.splitlines()
    assert f"{tree}/blocks/partial.py:4:5: error [no-rule] torch.no_such_op has no translation rule" in lines
    assert f"skipped {tree}/blocks/plain.py (no framework code: copied unchanged)" in lines
    assert f"translated {tree}/net.py -> {out}/net.py (0 error(s), 0 warning(s))" in lines
    assert lines[-1] == (
        f"{out}: 2 translated, 1 skipped (no framework code, copied unchanged); 3 written, 0 already up to date"
    )
    proc = cli(tree, "--to", "tf", "-o", tmp_path / "all", "--copy-other", cwd=tmp_path)
    assert set(files(tmp_path / "all")) == {"net.py", "blocks/partial.py", "blocks/plain.py", "README.md"}


def test_an_output_folder_inside_the_input_is_refused(tree, tmp_path):
    """Leaving it out of the walk was not enough: -o tree/sub wrote tree/a.py's translation over
    the input tree/sub/a.py (issue 15)."""
    before = files(tree)
    proc = cli(tree, "--to", "tf", "-o", tree / "tf", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        (
            "fwtranslate: error: the output folder is inside the input folder; "
            "the input is never overwritten (give an output folder outside it)"
        )
    ]
    assert files(tree) == before and not (tree / "tf").exists()


def test_parallel_jobs_give_the_same_output_in_the_same_order(tmp_path):
    src = tmp_path / "many"
    src.mkdir()
    for i in range(12):
        (src / f"m{i:02d}.py").write_text(PARTIAL if i % 3 == 0 else GOOD)
    one = cli(src, "--to", "tf", "-o", tmp_path / "one", "--jobs", "1", cwd=tmp_path)
    two = cli(src, "--to", "tf", "-o", tmp_path / "two", "-j", "2", cwd=tmp_path)
    assert one.returncode == two.returncode == 1
    assert files(tmp_path / "one") == files(tmp_path / "two")
    assert one.stderr.replace("one", "X") == two.stderr.replace("two", "X")  # same diagnostics, same order
    assert [line.split(":")[0] for line in one.stderr.splitlines()[:4]] == [
        f"{src}/m00.py",
        f"{src}/m03.py",
        f"{src}/m06.py",
        f"{src}/m09.py",
    ]


def test_report_json_of_a_tree_has_every_python_file(tree, tmp_path):
    import json

    proc = cli(tree, "--to", "tf", "-o", tmp_path / "out", "--report-json", tmp_path / "r.json", cwd=tmp_path)
    assert proc.returncode == 1
    report = json.loads((tmp_path / "r.json").read_text())
    assert [f["path"] for f in report["files"]] == [
        f"{tree}/blocks/partial.py",
        f"{tree}/blocks/plain.py",
        f"{tree}/net.py",
    ]
    assert report["totals"]["errors"] == 1


# --- quiet, verbose, colour, progress --------------------------------------------------------------------
def test_quiet_prints_errors_only(tmp_path):
    (tmp_path / "model.py").write_text(PARTIAL + "\n\n@torch.no_grad()\ndef f(x):\n    return x\n")
    loud = cli("model.py", "--to", "tf", cwd=tmp_path)
    quiet = cli("model.py", "--to", "tf", "-q", cwd=tmp_path)
    assert "warning [no-grad-decorator]" in loud.stderr and "wrote model_tf.py" in loud.stderr
    assert quiet.stderr.splitlines() == ["model.py:4:5: error [no-rule] torch.no_such_op has no translation rule"]
    assert cli("model.py", "--to", "tf", "-q", "-v", cwd=tmp_path).returncode == 2


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path):
    (tmp_path / "model.py").write_text(PARTIAL)
    code, text = on_terminal("model.py", "--to", "tf", "--stdout", cwd=tmp_path, env={"NO_COLOR": None})
    assert code == 1 and ANSI in text and "\x1b[31m" in text  # error in red
    code, text = on_terminal("model.py", "--to", "tf", "--stdout", cwd=tmp_path, env={"NO_COLOR": "1"})
    assert code == 1 and ANSI not in text and "error [no-rule]" in text
    proc = cli("model.py", "--to", "tf", "--stdout", cwd=tmp_path, env={"NO_COLOR": ""})  # a pipe
    assert ANSI not in proc.stderr + proc.stdout


def test_progress_bar_on_a_terminal_only(tree, tmp_path):
    code, text = on_terminal(tree, "--to", "tf", "-o", tmp_path / "a", cwd=tmp_path)
    assert code == 1 and "translating" in text
    proc = cli(tree, "--to", "tf", "-o", tmp_path / "b", cwd=tmp_path)
    assert "translating" not in proc.stderr
    code, text = on_terminal(tree, "--to", "tf", "-o", tmp_path / "c", "-q", cwd=tmp_path)
    assert "translating" not in text


# --- suppressions ----------------------------------------------------------------------------------------
def test_ignore_comments_drop_the_diagnostic_and_the_marker_and_keep_the_construct(tmp_path):
    source = (
        "import torch\n\n"
        "a = torch.no_such_op(x)  # fwtranslate: ignore[no-rule]\n"
        "b = torch.no_such_op(x)  # fwtranslate: ignore\n"
        "c = torch.no_such_op(  # fwtranslate: ignore[other-rule, no-rule]\n    x)\n"
        "d = torch.no_such_op(x)  # fwtranslate: ignore[other-rule]\n"
        "e = '# fwtranslate: ignore'; f = torch.no_such_op(x)\n"
    )
    (tmp_path / "model.py").write_text(source)
    proc = cli("model.py", "--to", "tf", "--stdout", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        "model.py:7:5: error [no-rule] torch.no_such_op has no translation rule",
        "model.py:8:34: error [no-rule] torch.no_such_op has no translation rule",
    ]
    out = proc.stdout
    assert out.count("# fwtranslate: unconverted") == 2
    assert "a = torch.no_such_op(x)  # fwtranslate: ignore[no-rule]\nb = torch.no_such_op(x)" in out
    (tmp_path / "ok.py").write_text("import torch\n\na = torch.no_such_op(x)  # fwtranslate: ignore\n")
    proc = cli("ok.py", "--to", "tf", cwd=tmp_path)
    assert proc.returncode == 0 and "unconverted" not in (tmp_path / "ok_tf.py").read_text()


# --- rules, version, help ----------------------------------------------------------------------------------
def test_rules_list_filter_and_show_with_suggestions(tmp_path):
    proc = cli("rules", "list", "conv2d", cwd=tmp_path)
    assert (
        proc.returncode == 0
        and proc.stdout
        and all("conv2d" in line.lower().split()[0] for line in proc.stdout.splitlines())
    )
    proc = cli("rules", "show", "Conv2d", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("torch.nn.Conv2d") and "example:" in proc.stdout
    proc = cli("rules", "show", "Conv2", cwd=tmp_path)
    assert proc.returncode == 2 and "no rule named 'Conv2'; did you mean:" in proc.stderr
    (tmp_path / "mine.yaml").write_text("torch.no_such_op:\n  signature: (input)\n  to: keras.ops.negative(input)\n")
    proc = cli("rules", "show", "torch.no_such_op", "--rules", "mine.yaml", cwd=tmp_path)
    assert proc.returncode == 0 and "keras.ops.negative(input)" in proc.stdout
    assert cli("rules", "list", "no_such_thing_at_all", cwd=tmp_path).returncode == 2


def test_version_and_help_with_examples(tmp_path):
    proc = cli("--version", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"fwtranslate, version {__version__}"
    for args in (["--help"], ["translate", "--help"], ["rules", "--help"]):
        proc = cli(*args, cwd=tmp_path)
        assert proc.returncode == 0 and "Examples:" in proc.stdout, args
    for name in ("--check", "--diff", "--in-place", "--jobs", "--copy-other", "--quiet", "--verbose"):
        assert name in cli("translate", "--help", cwd=tmp_path).stdout
