"""Bad input through the real command line: each case's exit code, message and writes.

CASES is also the table in docs/robustness.md: ``test_doc_table_matches_the_cases`` fails
when they differ, and ``FWTRANSLATE_WRITE_DOCS=1 pytest tests/test_robustness.py`` (or
``python tests/test_robustness.py --regen``) rewrites the table from CASES.
"""
from __future__ import annotations

import codecs
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fwtranslate import translate

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "robustness.md"
START, END = "<!-- cases: start (generated from tests/test_robustness.py) -->", "<!-- cases: end -->"

GOOD = "import torch\n\nx = torch.cat([a, b], 1)\n"
SYNTAX = "import torch\n\ndef f(:\n    pass\n"


@dataclass(frozen=True)
class Case:
    what: str  # the table's first column
    files: dict[str, bytes | str]  # created in an empty folder; "->target" makes a symlink
    args: tuple[str, ...]  # after `fwtranslate`
    code: int
    message: str  # a whole line of stderr (a substring when `exact` is False)
    exact: bool = True
    writes: dict[str, bytes] = field(default_factory=dict)  # exit-0 cases: what is written
    fifo: str | None = None  # a named pipe to create


def _tree(**extra) -> dict[str, bytes | str]:
    return {"tree/a.py": GOOD, "tree/sub/b.py": GOOD, **extra}


CASES: list[Case] = [
    Case("Syntax error", {"bad.py": SYNTAX}, ("bad.py", "--to", "tf"), 2,
         "bad.py:3:7: error: syntax error: invalid syntax"),
    Case("Unterminated string", {"s.py": 'import torch\nx = "abc\n'}, ("s.py", "--to", "tf"), 2,
         "s.py:2:5: error: syntax error: unterminated string literal (detected at line 2)"),
    Case("Missing indented block", {"s.py": "import torch\nif x:\nprint(1)\n"}, ("s.py", "--to", "tf"), 2,
         "s.py:3:1: error: syntax error: expected an indented block after 'if' statement on line 2"),
    Case("Tabs and spaces mixed", {"s.py": "import torch\nif x:\n\tpass\n        pass\n"}, ("s.py", "--to", "tf"), 2,
         "s.py:4:1: error: syntax error: inconsistent use of tabs and spaces in indentation"),
    Case("300 nested parentheses (LibCST's parser would crash)",
         {"deep.py": "import torch\nx = " + "(" * 300 + "1" + ")" * 300 + "\n"}, ("deep.py", "--to", "tf"), 2,
         "deep.py:2:205: error: syntax error: too many nested parentheses"),
    Case("Not UTF-8 (Latin-1 bytes)", {"latin.py": b"# caf\xe9\nimport torch\n"}, ("latin.py", "--to", "tf"), 2,
         "fwtranslate: error: latin.py is not UTF-8 text (byte 5)"),
    Case("Binary file", {"blob.py": b"\x7fELF\x02\x01\x00\x00import torch"}, ("blob.py", "--to", "tf"), 2,
         "fwtranslate: error: blob.py is a binary file"),
    Case("UTF-16 text", {"u16.py": codecs.BOM_UTF16_LE + GOOD.encode("utf-16-le")}, ("u16.py", "--to", "tf"), 2,
         "fwtranslate: error: u16.py is UTF-16 text; save it as UTF-8"),
    Case("Latin-1 coding declaration", {"old.py": "# -*- coding: latin-1 -*-\nimport torch\n"},
         ("old.py", "--to", "tf"), 2,
         "fwtranslate: error: old.py declares the encoding iso8859-1; only UTF-8 sources are translated"),
    Case("Named pipe", {}, ("pipe.py", "--to", "tf"), 2, "fwtranslate: error: pipe.py is not a regular file",
         fifo="pipe.py"),
    Case("Missing file", {}, ("nope.py", "--to", "tf"), 2, "fwtranslate: error: nope.py does not exist"),
    Case("Symlink to itself", {"loop.py": "->loop.py"}, ("loop.py", "--to", "tf"), 2,
         "fwtranslate: error: loop.py is a symlink loop or a broken link"),
    Case("Folder without -o", _tree(), ("tree", "--to", "tf"), 2,
         "fwtranslate: error: translating a folder needs -o OUTPUT_FOLDER (or --in-place)"),
    Case("Folder given to --report-json", {"m.py": GOOD, "pkg/x.txt": "x"},
         ("m.py", "--to", "tf", "--report-json", "pkg"), 2,
         "fwtranslate: error: --report-json pkg is a directory; give a file path"),
    Case("Folder given to --rules", {"m.py": GOOD, "pkg/x.txt": "x"}, ("m.py", "--to", "tf", "--rules", "pkg"), 2,
         "fwtranslate: error: pkg: cannot read: Is a directory"),
    Case("Missing rule file", {"m.py": GOOD}, ("m.py", "--to", "tf", "--rules", "mine.yaml"), 2,
         "fwtranslate: error: mine.yaml: cannot read: No such file or directory"),
    Case("Malformed rule file", {"m.py": GOOD, "mine.yaml": "torch.foo:\n  to: keras.ops.foo(x)\n"},
         ("m.py", "--to", "tf", "--rules", "mine.yaml"), 2, "rule 'torch.foo', field 'signature'", exact=False),
    Case("Unknown target", {"m.py": GOOD}, ("m.py", "--to", "jax"), 2,
         "fwtranslate: error: unknown --to 'jax' (choose from: tf, torch)"),
    Case("Output path is the input", {"m.py": GOOD}, ("m.py", "--to", "tf", "-o", "m.py"), 2,
         "fwtranslate: error: the output path is the input file; the input is never overwritten "
         "(--in-place replaces it)"),
    Case("Output is the input spelled differently", {"m.py": GOOD, "pkg/x.txt": "x"},
         ("m.py", "--to", "tf", "-o", "pkg/../m.py"), 2,
         "fwtranslate: error: the output path is the input file; the input is never overwritten "
         "(--in-place replaces it)"),
    Case("Output is a symlink to the input", {"m.py": GOOD, "link.py": "->m.py"},
         ("m.py", "--to", "tf", "-o", "link.py"), 2,
         "fwtranslate: error: the output path is the input file; the input is never overwritten "
         "(--in-place replaces it)"),
    Case("Unwritable output (under a file)", {"m.py": GOOD}, ("m.py", "--to", "tf", "-o", "m.py/out.py"), 2,
         "fwtranslate: error: cannot write m.py/out.py: m.py is not a directory"),
    Case("Unwritable report (the output is fine)", {"m.py": GOOD},
         ("m.py", "--to", "tf", "--report-json", "m.py/r.json"), 2,
         "fwtranslate: error: cannot write m.py/r.json: m.py is not a directory"),
    Case("Symlink loop in a folder", _tree(**{"tree/sub/up": "->.."}), ("tree", "--to", "tf", "-o", "out"), 2,
         "fwtranslate: error: symlink loop: tree/sub/up leads back to tree"),
    Case("Self-referencing symlink in a folder", _tree(**{"tree/self.py": "->self.py"}),
         ("tree", "--to", "tf", "-o", "out"), 2, "fwtranslate: error: symlink loop: tree/self.py"),
    Case("Broken symlink in a folder", _tree(**{"tree/gone.py": "->missing.py"}),
         ("tree", "--to", "tf", "-o", "out"), 2, "fwtranslate: error: broken symbolic link: tree/gone.py -> missing.py"),
    Case("One bad file in a folder", _tree(**{"tree/sub/bad.py": SYNTAX}), ("tree", "--to", "tf", "-o", "out"), 2,
         "fwtranslate: error: 1 of 3 file(s) could not be translated; nothing written"),
    Case("Folder output is the input folder", _tree(), ("tree", "--to", "tf", "-o", "tree/sub/.."), 2,
         "fwtranslate: error: the output folder is the input folder; the input is never overwritten "
         "(--in-place replaces its files)"),
    Case("Folder output is a file", _tree(**{"out": "x"}), ("tree", "--to", "tf", "-o", "out"), 2,
         "fwtranslate: error: -o out is a file; a folder's translation needs an output folder"),
    Case("--stdout with a folder", _tree(), ("tree", "--to", "tf", "--stdout"), 2,
         "fwtranslate: error: --stdout needs a single file, not a folder"),
    Case("--in-place with -o", {"m.py": GOOD}, ("m.py", "--to", "tf", "--in-place", "-o", "x.py"), 2,
         "fwtranslate: error: --in-place writes the translation over the input: drop -o/--stdout"),
    Case("--jobs 0", _tree(), ("tree", "--to", "tf", "-o", "out", "--jobs", "0"), 2,
         "Error: Invalid value for '-j' / '--jobs': 0 is not in the range x>=1."),
    Case("Empty file (valid Python, no framework code)", {"empty.py": ""}, ("empty.py", "--to", "tf"), 0,
         "wrote empty_tf.py (no framework code: copied unchanged)", writes={"empty_tf.py": b""}),
    Case("No framework code", {"util.py": "import numpy as np\n"}, ("util.py", "--to", "tf"), 0,
         "wrote util_tf.py (no framework code: copied unchanged)", writes={"util_tf.py": b"import numpy as np\n"}),
    Case("UTF-8 with a byte-order mark", {"bom.py": codecs.BOM_UTF8 + GOOD.encode()}, ("bom.py", "--to", "tf"), 0,
         "wrote bom_tf.py", writes={"bom_tf.py": translate(GOOD).code.encode()}),
    Case("Windows line endings", {"crlf.py": GOOD.replace("\n", "\r\n")}, ("crlf.py", "--to", "tf"), 0,
         "wrote crlf_tf.py", writes={"crlf_tf.py": translate(GOOD).code.replace("\n", "\r\n").encode()}),
]


def cli(*args, cwd: Path) -> subprocess.CompletedProcess:
    bindir = Path(sys.executable).parent
    command = [str(bindir / "fwtranslate")] if (bindir / "fwtranslate").is_file() else \
        [sys.executable, "-m", "fwtranslate.cli"]
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def snapshot(folder: Path) -> dict[str, object]:
    """Every entry (symlinks as links, never followed: some cases hold loops)."""
    found: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                found[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                found[rel] = "dir"
            elif path.is_file():
                found[rel] = path.read_bytes()
            else:
                found[rel] = "special"
    return found


def make(folder: Path, case: Case) -> None:
    for rel, content in case.files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str) and content.startswith("->"):
            path.symlink_to(content[2:])
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
    if case.fifo:
        os.mkfifo(folder / case.fifo)


@pytest.mark.parametrize("case", CASES, ids=[c.what for c in CASES])
def test_bad_input(tmp_path, case):
    make(tmp_path, case)
    before = snapshot(tmp_path)
    proc = cli(*case.args, cwd=tmp_path)
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr
    if case.exact:
        assert case.message in proc.stderr.splitlines(), proc.stderr
    else:
        assert case.message in proc.stderr, proc.stderr
    expected = {**before, **case.writes}
    assert snapshot(tmp_path) == expected  # nothing else written, the input untouched


def test_there_are_at_least_20_bad_inputs():
    assert len([c for c in CASES if c.code == 2]) >= 20


# --- the table in docs/robustness.md ---------------------------------------------------------------
def render_table() -> str:
    rows = ["| # | Input | Command | Exit | Message (stderr) | Written |", "|---|---|---|---|---|---|"]
    for i, c in enumerate(CASES, 1):
        command = "`fwtranslate " + " ".join(c.args) + "`"
        written = ", ".join(f"`{name}`" for name in c.writes) or "nothing"
        message = f"`{c.message}`" if c.exact else f"... `{c.message}` ..."
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
    assert doc == wanted, "docs/robustness.md is out of date: FWTRANSLATE_WRITE_DOCS=1 pytest tests/test_robustness.py"


# --- beyond the table --------------------------------------------------------------------------------
def test_a_50k_line_file_translates(tmp_path):
    """Timing is benchmarks/robustness_scaling.py's job; here: a huge file comes out right."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from robustness_scaling import make_source
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
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
    assert out.endswith(source[source.rindex("def helper_"):])  # the last lines, plain Python, untouched


def test_translation_never_imports_or_runs_the_users_code(tmp_path):
    evil = ("import torch\nimport module_that_does_not_exist\nprint('SIDE EFFECT')\n"
            "open('pwned', 'w').write('x')\nraise SystemExit(3)\nx = torch.cat([a, b], 1)\n")
    (tmp_path / "evil.py").write_text(evil)
    proc = cli("evil.py", "--to", "tf", "--stdout", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "SIDE EFFECT" not in proc.stderr and proc.stdout.count("SIDE EFFECT") == 1  # only as code
    assert not (tmp_path / "pwned").exists()
    # neither the user's module nor the framework it names is imported by translating
    check = ("import sys, fwtranslate; fwtranslate.translate_file('evil.py', output='evil_tf.py'); "
             "bad = {'torch', 'evil', 'module_that_does_not_exist', 'tensorflow', 'keras'} & set(sys.modules); "
             "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "pwned").exists() and "SIDE EFFECT" not in proc.stdout


def test_help_says_which_commands_run_code(tmp_path):
    assert "never imported or run" in " ".join(cli("translate", "--help", cwd=tmp_path).stdout.split())
    assert "imports and runs both files" in " ".join(cli("verify", "--help", cwd=tmp_path).stdout.split())


# --- atomic writes -------------------------------------------------------------------------------------
def test_a_failed_rename_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    from fwtranslate import api

    target = tmp_path / "model_tf.py"
    target.write_text("old\n")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api.os, "replace", failing_replace)
    with pytest.raises(OSError):
        api.write_atomic(target, "new\n" * 1000)
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model_tf.py"]


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    from fwtranslate import api

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

    monkeypatch.setattr(api.os, "fdopen", lambda fd, *a, **k: HalfWritten(real_fdopen(fd, *a, **k)))
    with pytest.raises(OSError):
        api.write_atomic(tmp_path / "model_tf.py", "new\n" * 1000)
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
    assert api.count("os.fdopen(") == 1 and "write_text(" not in api and "write_bytes(" not in api


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


if __name__ == "__main__":
    if "--regen" in sys.argv:
        DOC.write_text(doc_with_table(DOC.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"rewrote the table in {DOC}")
