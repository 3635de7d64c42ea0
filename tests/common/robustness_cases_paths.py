"""Robustness cases: where outputs may go: mirrors, symlinks, special files, modes, interrupted trees.

Outputs stay inside the output root the user named (the project folder, for mirrors), never
land on an input, a configured source or a settings file, are only ever regular files, and a
new one gets its source's permissions. Cases that need root, signals or a second run are in
tests/test_output_safety.py.
"""

from __future__ import annotations

from robustness_support import GOOD, Case
from robustness_support import tree_files as _tree

from fwtranslate import translate

TRANSLATED = translate(GOOD).code.encode()
NET = {"proj/models/net.py": GOOD}
MIRROR = ("--config", "proj/pyproject.toml", "proj/models/net.py")
WHERE = "fwtranslate: error: proj/pyproject.toml: [tool.fwtranslate]: mirrors: "


def _project(table: str, **extra) -> dict[str, bytes | str]:
    return {**NET, "proj/pyproject.toml": f"[tool.fwtranslate]\n{table}\n", **extra}


def _mirror(what: str, table: str, message: str, **extra) -> Case:
    return Case(what, _project(table, **extra), MIRROR, 2, message, program="fwtranslate-mirror")


CASES: list[Case] = [
    # --- mirrors (pyproject.toml [tool.fwtranslate]) --------------------------------------------
    _mirror(
        "Mirror outside the project (`..`)",
        'mirrors = {"models/net.py" = "../x.py"}',
        WHERE + "'../x.py' is outside the project folder (the folder holding pyproject.toml)",
    ),
    _mirror(
        "Mirror at an absolute path",
        'mirrors = {"models/net.py" = "/tmp/fwtranslate-absolute-mirror.py"}',
        WHERE + "'/tmp/fwtranslate-absolute-mirror.py' is outside the project folder "
        "(the folder holding pyproject.toml)",
    ),
    _mirror(
        "Mirror folder is a symlink leading out of the project",
        'mirrors = {"models/net.py" = "tf/net.py"}',
        WHERE + "'tf/net.py' leads outside the project folder (a symbolic link)",
        **{"proj/tf": "->../elsewhere", "elsewhere/keep.txt": "keep\n"},
    ),
    _mirror(
        "Mirror is a committed symlink (to a file of the project)",
        'mirrors = {"models/net.py" = "tf/net.py"}',
        "fwtranslate: error: cannot write proj/tf/net.py: it is a symbolic link; it is only written as a regular file",
        **{"proj/tf/net.py": "->../keep.py", "proj/keep.py": "keep\n"},
    ),
    _mirror(
        "Mirror is another configured source",
        'mirrors = {"models/net.py" = "b.py", "b.py" = "c.py"}',
        WHERE + "'models/net.py' -> 'b.py': the mirror would overwrite the source 'b.py'; "
        "a source is never overwritten",
        **{"proj/b.py": GOOD},
    ),
    _mirror(
        "Mirror is pyproject.toml",
        'mirrors = {"models/net.py" = "pyproject.toml"}',
        WHERE + "'models/net.py' -> 'pyproject.toml': the mirror would overwrite pyproject.toml",
    ),
    _mirror(
        "Mirror is a configured rule file",
        'mirrors = {"models/net.py" = "r.yaml"}\nrules = ["r.yaml"]',
        WHERE + "'models/net.py' -> 'r.yaml': the mirror would overwrite the rule file r.yaml",
        **{"proj/r.yaml": "{}\n"},
    ),
    _mirror(
        "Mirror folder inside its source folder",
        'mirrors = {"models/" = "models/tf/"}',
        WHERE + "'models/' -> 'models/tf/': the mirror folder overlaps the source folder 'models/'; "
        "a source is never overwritten",
    ),
    _mirror(
        "Mirror file inside a source folder",
        'mirrors = {"models/" = "tf/", "a.py" = "models/a_tf.py"}',
        WHERE + "'a.py' -> 'models/a_tf.py': the mirror is inside the source folder 'models/'; "
        "a source is never overwritten",
        **{"proj/a.py": GOOD},
    ),
    # --- special files ------------------------------------------------------------------------------
    Case(
        "-o is a device (/dev/null)",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "-o", "/dev/null"),
        2,
        "fwtranslate: error: cannot write /dev/null: it is not a regular file",
    ),
    Case(
        "-o is a named pipe",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "-o", "out.py"),
        2,
        "fwtranslate: error: cannot write out.py: it is not a regular file",
        fifo="out.py",
    ),
    Case(
        "--report-json is a device (/dev/full)",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "--report-json", "/dev/full"),
        2,
        "fwtranslate: error: --report-json /dev/full is not a regular file; give a file path",
    ),
    Case(
        "--report-json is a named pipe",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "--report-json", "r.json"),
        2,
        "fwtranslate: error: --report-json r.json is not a regular file; give a file path",
        fifo="r.json",
    ),
    Case(
        "Folder output is a device",
        _tree(),
        ("tree", "--to", "tf", "-o", "/dev/null"),
        2,
        "fwtranslate: error: -o /dev/null is not a folder; a folder's translation needs an output folder",
    ),
    Case(
        "-o is a broken symlink",
        {"m.py": GOOD, "out.py": "->missing/x.py"},
        ("m.py", "--to", "tf", "-o", "out.py"),
        2,
        "fwtranslate: error: cannot write out.py: it is a broken symbolic link",
    ),
    # --- outputs onto inputs ------------------------------------------------------------------------
    Case(
        "Folder output inside the input folder",
        _tree(),
        ("tree", "--to", "tf", "-o", "tree/sub"),
        2,
        "fwtranslate: error: the output folder is inside the input folder; the input is never overwritten "
        "(give an output folder outside it)",
    ),
    Case(
        "Hidden folder output inside the input folder",
        _tree(),
        ("tree", "--to", "tf", "-o", "tree/.out"),
        2,
        "fwtranslate: error: the output folder is inside the input folder; the input is never overwritten "
        "(give an output folder outside it)",
    ),
    Case(
        "Input folder inside the output folder (an output lands on an input)",
        {"tree/sub/a.py": GOOD, "tree/sub/sub/a.py": GOOD},
        ("tree/sub", "--to", "tf", "-o", "tree"),
        2,
        "fwtranslate: error: cannot write tree/sub/a.py: it is an input file; the input is never overwritten",
    ),
    Case(
        "--report-json is the input",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "--report-json", "m.py"),
        2,
        "fwtranslate: error: cannot write m.py: it is an input file; the input is never overwritten",
    ),
    Case(
        "--report-json is the output",
        {"m.py": GOOD},
        ("m.py", "--to", "tf", "-o", "o.py", "--report-json", "o.py"),
        2,
        "fwtranslate: error: cannot write o.py: another output (o.py) is written there",
    ),
    Case(
        "Output folder holds a symlink leading out of it",
        {"tree/a.py": GOOD, "out/a.py": "->../victim.py", "victim.py": "keep\n"},
        ("tree", "--to", "tf", "-o", "out"),
        2,
        "fwtranslate: error: cannot write out/a.py: it leads outside out (a symbolic link)",
    ),
    # --- permissions and --copy-other --------------------------------------------------------------
    Case(
        "0600 source: the new output is 0600 too",
        {"m.py": GOOD},
        ("m.py", "--to", "tf"),
        0,
        "wrote m_tf.py",
        writes={"m_tf.py": TRANSLATED},
        modes={"m.py": 0o600, "m_tf.py": 0o600},
    ),
    Case(
        "--copy-other keeps each file's permissions",
        _tree(**{"tree/run.sh": "echo\n"}),
        ("tree", "--to", "tf", "-o", "out", "--copy-other"),
        0,
        "out: 2 translated, 0 skipped (no framework code, copied unchanged), 1 other file(s) copied; "
        "3 written, 0 already up to date",
        writes={
            "out": "dir",
            "out/a.py": TRANSLATED,
            "out/run.sh": b"echo\n",
            "out/sub": "dir",
            "out/sub/b.py": TRANSLATED,
        },
        modes={"tree/a.py": 0o600, "tree/run.sh": 0o700, "out/a.py": 0o600, "out/run.sh": 0o700},
    ),
    Case(
        "--copy-other and a symlink leading out of the folder",
        _tree(**{"tree/notes.txt": "->../secret.txt", "secret.txt": "secret\n"}),
        ("tree", "--to", "tf", "-o", "out", "--copy-other"),
        0,
        "fwtranslate: warning: not copying tree/notes.txt: a symbolic link leads outside tree",
        writes={"out": "dir", "out/a.py": TRANSLATED, "out/sub": "dir", "out/sub/b.py": TRANSLATED},
    ),
]
