"""Bad input through the real command line: each case's exit code, message and writes.

CASES is also the table in docs/robustness.md: ``test_doc_table_matches_the_cases`` fails
when they differ, and ``FWTRANSLATE_WRITE_DOCS=1 pytest tests/common/test_robustness.py`` (or
``python tests/common/test_robustness.py --regen``) rewrites the table from CASES.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

if __name__ == "__main__":  # --regen as a script: tests/ for helpers.py (conftest.py does it under pytest)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import robustness_cases_input
import robustness_cases_paths
import robustness_cases_rules
import robustness_cases_verify
from robustness_support import GOOD, Case, cli, make, snapshot

from fwtranslate.testing.large_files import make_source

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "robustness.md"
START, END = "<!-- cases: start (generated from tests/common/test_robustness.py) -->", "<!-- cases: end -->"

CASES: list[Case] = [
    *robustness_cases_input.CASES,
    *robustness_cases_rules.CASES,
    *robustness_cases_paths.CASES,
    *robustness_cases_verify.CASES,
]


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input(tmp_path, case):
    make(tmp_path, case)
    before = snapshot(tmp_path)
    proc = cli(*case.args, cwd=tmp_path, program=case.program)
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr
    if not case.message:  # a --json run: the object on stdout says it all, stderr stays empty
        assert proc.stderr == "", proc.stderr
    elif case.exact:
        assert case.message in proc.stderr.splitlines(), proc.stderr
    else:
        assert case.message in proc.stderr, proc.stderr
    expected = {**before, **case.writes}
    assert snapshot(tmp_path) == expected  # nothing else written, the input untouched
    if case.stdout_json:
        assert isinstance(json.loads(proc.stdout), dict), proc.stdout  # one JSON object, nothing else
    for rel, mode in case.modes.items():
        assert (tmp_path / rel).stat().st_mode & 0o7777 == mode, rel


def test_there_are_at_least_20_bad_inputs():
    assert len([c for c in CASES if c.code == 2]) >= 20


# --- the table in docs/robustness.md ---------------------------------------------------------------
def render_table() -> str:
    rows = ["| # | Input | Command | Exit | Message (stderr) | Written |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(CASES, 1):
        command = f"`{c.program} " + " ".join(c.args) + "`"
        written = ", ".join(f"`{name}`" for name in c.writes) or "nothing"
        message = "(nothing)" if not c.message else f"`{c.message}`" if c.exact else f"... `{c.message}` ..."
        rows.append(f"| {i} | {c.what} | {command} | {c.code} | {message.replace('|', '&#124;')} | {written} |")
    return "\n".join(rows) + "\n"


def doc_with_table(doc: str) -> str:
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{render_table()}{END}{tail}"


def test_doc_table_matches_the_cases():
    doc = DOC.read_text(encoding="utf-8")
    assert START in doc and END in doc, f"{DOC} lost its table markers"
    wanted = doc_with_table(doc)
    if os.environ.get("FWTRANSLATE_WRITE_DOCS") == "1" and wanted != doc:
        DOC.write_text(wanted, encoding="utf-8")
        doc = wanted
    assert doc == wanted, (
        "docs/robustness.md is out of date: FWTRANSLATE_WRITE_DOCS=1 pytest tests/common/test_robustness.py"
    )


# --- beyond the table --------------------------------------------------------------------------------
def test_a_50k_line_file_translates(tmp_path):
    """Timing is benchmarks/robustness_scaling.py's job; here: a huge file comes out right."""
    source = make_source(50_000)
    assert source.count("\n") >= 50_000
    (tmp_path / "big.py").write_text(source)
    proc = cli("big.py", "--to", "tf", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = (tmp_path / "big_tf.py").read_text()
    assert "import torch" not in out and "torch.cat(" not in out
    assert out.count("keras.ops.concatenate(") == source.count("torch.cat(") > 2000
    assert out.count("(keras.Model):") == source.count("(nn.Module):")
    assert out.count("def call(") == source.count("def forward(")
    assert out.endswith(source[source.rindex("def helper_") :])  # the last lines, plain Python, untouched


def test_translation_never_imports_or_runs_the_users_code(tmp_path):
    evil = (
        "import torch\nimport module_that_does_not_exist\nprint('SIDE EFFECT')\n"
        "open('pwned', 'w').write('x')\nraise SystemExit(3)\nx = torch.cat([a, b], 1)\n"
    )
    (tmp_path / "evil.py").write_text(evil)
    proc = cli("evil.py", "--to", "tf", "--stdout", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SIDE EFFECT" not in proc.stderr and proc.stdout.count("SIDE EFFECT") == 1  # only as code
    assert not (tmp_path / "pwned").exists()
    # neither the user's module nor the framework it names is imported by translating
    check = (
        "import sys, fwtranslate; fwtranslate.translate_file('evil.py', output='evil_tf.py'); "
        "bad = {'torch', 'evil', 'module_that_does_not_exist', 'tensorflow', 'keras'} & set(sys.modules); "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "pwned").exists() and "SIDE EFFECT" not in proc.stdout


def test_help_says_which_commands_run_code(tmp_path):
    assert "never imported or run" in " ".join(cli("translate", "--help", cwd=tmp_path).stdout.split())
    assert "imports and runs both files" in " ".join(cli("verify", "--help", cwd=tmp_path).stdout.split())


# --- atomic writes -------------------------------------------------------------------------------------
def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from fwtranslate import atomic

    target = tmp_path / "model_tf.py"
    target.write_text("old\n")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError):
        atomic.write_atomic(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_tf.py"]


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from fwtranslate import atomic

    real_fdopen = os.fdopen

    class HalfWritten:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fdopen", lambda fd, *a, **k: HalfWritten(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError):
        atomic.write_atomic(tmp_path / "model_tf.py", "new\n" * 1000)
    assert list(tmp_path.iterdir()) == []


def test_a_rename_onto_a_folder_fails_cleanly(tmp_path):
    from fwtranslate.api import write_atomic

    (tmp_path / "out.py").mkdir()
    (tmp_path / "out.py" / "keep").write_text("x")
    with pytest.raises(OSError):
        write_atomic(tmp_path / "out.py", "new\n")
    assert snapshot(tmp_path) == {"out.py": "dir", "out.py/keep": b"x"}


def test_every_write_of_the_translate_path_goes_through_write_atomic():
    """Other writes (open(..., 'w'), write_text) would leave half-written files when interrupted."""
    src = REPO / "src" / "fwtranslate"
    modules = ["cli.py", "cli_translate.py", "outputs.py", "tree.py", "hooks.py", "config.py", "suppress.py"]
    for name in modules:
        text = (src / name).read_text()
        for needle in (".write_text(", ".write_bytes(", "open(", "shutil.copy"):
            assert needle not in text, f"{name} writes with {needle}"
    api = (src / "api.py").read_text()
    assert "os.fdopen(" not in api and "write_text(" not in api and "write_bytes(" not in api
    atomic = (src / "atomic.py").read_text()  # write_atomic, and write_tree's staged files
    assert atomic.count("os.fdopen(") == 2 and "write_text(" not in atomic and "write_bytes(" not in atomic


def test_written_files_keep_or_get_ordinary_permissions(tmp_path):
    (tmp_path / "m.py").write_text(GOOD)
    assert cli("m.py", "--to", "tf", cwd=tmp_path).returncode == 0
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "m_tf.py").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    (tmp_path / "m_tf.py").chmod(0o640)
    (tmp_path / "m.py").write_text(GOOD + "y = torch.flatten(x, 1)\n")
    assert cli("m.py", "--to", "tf", cwd=tmp_path).returncode == 0
    assert (tmp_path / "m_tf.py").stat().st_mode & 0o777 == 0o640
    # a new output gets its source's permissions (less the umask, as cp does): never wider
    (tmp_path / "secret.py").write_text(GOOD)
    (tmp_path / "secret.py").chmod(0o600)
    assert cli("secret.py", "--to", "tf", cwd=tmp_path).returncode == 0
    assert (tmp_path / "secret_tf.py").stat().st_mode & 0o777 == 0o600


if __name__ == "__main__":
    if "--regen" in sys.argv:
        DOC.write_text(doc_with_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"rewrote the table in {DOC}")
