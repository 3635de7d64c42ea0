"""The pre-commit hooks, run by the real ``pre-commit`` on real commits.

A throwaway clone of this working tree, committed in a temporary folder, is the hook
repository; a second temporary git repository uses it through .pre-commit-config.yaml, as a
user's project would. pre-commit builds the hooks' virtualenv from that clone (installing
libcst, click and pyyaml from PyPI), so the first commit takes a while.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from fwtranslate import translate

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip(
    "pre_commit", reason="pre-commit is not installed (it is in the test extra: pip install -e '.[test]')"
)
if shutil.which("git") is None:
    pytest.skip("git is not installed: pre-commit needs it", allow_module_level=True)

NET = dedent("""\
    import torch
    import torch.nn as nn


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 4)

        def forward(self, x):
            return torch.relu(self.fc(x))
    """)
UNTRANSLATABLE = "\n\ndef spectrum(x):\n    return torch.no_such_op(x)\n"
PYPROJECT = dedent("""\
    [project]
    name = "user-models"
    version = "0"

    [tool.fwtranslate]
    to = "tf"
    mirrors = {"models/net.py" = "models_tf/net.py"}
    """)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.com",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.com",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        PRE_COMMIT_HOME=str(home),
        NO_COLOR="1",
    )
    return env


def run(*args, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def git(*args, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = run("git", *args, cwd=cwd, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str, dict[str, str]]:
    """A committed copy of what installing fwtranslate needs (no git state of /work/main is touched)."""
    root = tmp_path_factory.mktemp("hook-repo")
    env = _env(tmp_path_factory.mktemp("pre-commit-home"))
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for folder in ("src", "rules"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(REPO / name, root / name)
    git("init", "-q", cwd=root, env=env)
    git("add", "-A", cwd=root, env=env)
    git("commit", "-q", "-m", "fwtranslate under test", cwd=root, env=env)
    sha = git("rev-parse", "HEAD", cwd=root, env=env).stdout.strip()
    return root, sha, env


def test_hooks_manifest_is_valid_for_pre_commit():
    from pre_commit.clientlib import load_manifest

    hooks = {h["id"]: h for h in load_manifest(str(REPO / ".pre-commit-hooks.yaml"))}
    assert set(hooks) == {"fwtranslate-mirror", "fwtranslate-check"}
    assert hooks["fwtranslate-mirror"]["require_serial"] is True


def test_mirror_and_check_hooks_on_real_commits(hook_repo, tmp_path):
    hooks_root, sha, env = hook_repo
    user = tmp_path / "user"
    (user / "models").mkdir(parents=True)
    (user / "models" / "net.py").write_text(NET)
    (user / "pyproject.toml").write_text(PYPROJECT)
    (user / ".pre-commit-config.yaml").write_text(
        dedent(f"""\
        repos:
          - repo: {hooks_root}
            rev: {sha}
            hooks:
              - id: fwtranslate-mirror
              - id: fwtranslate-check
        """)
    )
    git("init", "-q", cwd=user, env=env)
    proc = run(sys.executable, "-m", "pre_commit", "install", cwd=user, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    def commit(message: str) -> subprocess.CompletedProcess:
        git("add", "-A", cwd=user, env=env)
        return run("git", "commit", "-q", "-m", message, cwd=user, env=env, timeout=600)

    def commits() -> int:
        proc = run("git", "rev-list", "--count", "HEAD", cwd=user, env=env)
        return int(proc.stdout) if proc.returncode == 0 else 0

    mirror = user / "models_tf" / "net.py"

    # 1. the first commit creates the mirror and fails, like a formatter; staged, it passes
    proc = commit("add the model")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "fwtranslate-mirror: rewrote models_tf/net.py (translated from models/net.py)" in proc.stdout + proc.stderr
    assert mirror.read_text() == translate(NET, path="models/net.py").code
    assert "class Net(keras.Model)" in mirror.read_text() and commits() == 0
    proc = commit("add the model")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert commits() == 1

    # 2. an untranslatable construct blocks the commit, named path:line:col; the mirror is refreshed
    (user / "models" / "net.py").write_text(NET + UNTRANSLATABLE)
    proc = commit("add spectrum")
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "models/net.py:15:12: error [no-rule] torch.no_such_op has no translation rule" in output, output
    assert "fwtranslate-mirror: rewrote models_tf/net.py" in output
    assert "# fwtranslate: unconverted [no-rule] torch.no_such_op" in mirror.read_text()
    assert commits() == 1

    # 3. `ignore` in [tool.fwtranslate] accepts the rule (the mirror, now staged, is current)
    (user / "pyproject.toml").write_text(PYPROJECT + 'ignore = ["no-rule"]\n')
    proc = commit("add spectrum")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert commits() == 2

    # 4. without `ignore`, a construct that HEAD already has does not block an unrelated change
    (user / "pyproject.toml").write_text(PYPROJECT)
    (user / "models" / "net.py").write_text("# a comment\n" + NET + UNTRANSLATABLE)
    proc = commit("comment")
    assert proc.returncode != 0 and "error [no-rule]" not in proc.stdout + proc.stderr  # the mirror only
    proc = commit("comment")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert commits() == 3

    # 5. a second untranslatable construct is new: blocked again
    (user / "models" / "net.py").write_text(
        "# a comment\n" + NET + UNTRANSLATABLE + "\n\ndef other(x):\n    return torch.no_such_op(x + 1)\n"
    )
    proc = commit("another")
    assert proc.returncode != 0
    assert "error [no-rule] torch.no_such_op has no translation rule" in proc.stdout + proc.stderr
    assert commits() == 3


# --- the entry points on their own (no pre-commit, same code) ---------------------------------------
def hook(name: str, *args, cwd: Path) -> subprocess.CompletedProcess:
    bindir = Path(sys.executable).parent
    command = (
        [str(bindir / name)]
        if (bindir / name).is_file()
        else [sys.executable, "-c", f"from fwtranslate.hooks import {name.split('-')[1]}_main as m; m()"]
    )
    return subprocess.run([*command, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_mirror_hook_maps_folders_and_refreshes_all_when_the_config_changes(tmp_path):
    (tmp_path / "models" / "blocks").mkdir(parents=True)
    (tmp_path / "models" / "blocks" / "a.py").write_text("import torch\n\ny = torch.cat([a, b], 1)\n")
    (tmp_path / "models" / "blocks" / "b.py").write_text("import torch\n\ny = torch.flatten(a, 1)\n")
    (tmp_path / "pyproject.toml").write_text('[tool.fwtranslate]\nmirrors = {"models/blocks/" = "tf/blocks/"}\n')
    proc = hook("fwtranslate-mirror", "models/blocks/a.py", cwd=tmp_path)
    assert proc.returncode == 1 and "rewrote tf/blocks/a.py" in proc.stderr
    assert not (tmp_path / "tf" / "blocks" / "b.py").exists()
    proc = hook("fwtranslate-mirror", "pyproject.toml", cwd=tmp_path)  # a config change: all mirrors
    assert proc.returncode == 1 and "rewrote tf/blocks/b.py" in proc.stderr and "a.py" not in proc.stderr
    proc = hook("fwtranslate-mirror", "tf/blocks/a.py", "tf/blocks/b.py", cwd=tmp_path)  # staged mirrors
    assert proc.returncode == 0 and proc.stderr == ""
    (tmp_path / "tf" / "blocks" / "a.py").write_text("edited by hand\n")
    proc = hook("fwtranslate-mirror", "tf/blocks/a.py", cwd=tmp_path)
    assert proc.returncode == 1 and (tmp_path / "tf" / "blocks" / "a.py").read_text().startswith("import keras")


@pytest.mark.parametrize(
    "table,message",
    [
        ('mirror = {"a.py" = "b.py"}', "unknown key 'mirror'"),
        ('to = "jax"\nmirrors = {"a.py" = "b.py"}', "to = 'jax' is not a target"),
        ('mirrors = {"a.py" = "./a.py"}', "'a.py' is its own mirror"),
        ('mirrors = {"a/" = "b.py"}', "map a folder (ending in /) to a folder"),
        ('mirrors = {"a.py" = "c.py", "b.py" = "c.py"}', "two sources write 'c.py'"),
        ('mirrors = {"a.py" = "b.py"}\nignore = "no-rule"', "ignore must be a list of strings"),
        ("mirrors = [", "not valid TOML"),
        ("", "no mirrors configured"),
    ],
)
def test_bad_configuration_is_exit_2_with_the_reason(tmp_path, table, message):
    (tmp_path / "a.py").write_text("import torch\n")
    (tmp_path / "pyproject.toml").write_text(f"[tool.fwtranslate]\n{table}\n")
    proc = hook("fwtranslate-mirror", "a.py", cwd=tmp_path)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "pyproject.toml"]


def test_check_hook_honours_ignore_comments_and_skips_mirrors(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.fwtranslate]\nmirrors = {"m.py" = "m_tf.py"}\n')
    (tmp_path / "m.py").write_text("import torch\n\ny = torch.no_such_op(x)  # fwtranslate: ignore[no-rule]\n")
    (tmp_path / "m_tf.py").write_text("import torch\n\ny = torch.no_such_op(x)\n")  # a mirror is not checked
    (tmp_path / "bad.py").write_text("import torch\n\ny = torch.no_such_op(x)\n")
    proc = hook("fwtranslate-check", "m.py", "m_tf.py", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    proc = hook("fwtranslate-check", "m.py", "bad.py", cwd=tmp_path)  # not a git repository: no baseline
    assert proc.returncode == 1
    assert proc.stderr.splitlines()[0] == "bad.py:3:5: error [no-rule] torch.no_such_op has no translation rule"


def test_hooks_use_the_configured_rule_files_and_target(tmp_path):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "mine.yaml").write_text(
        "torch.no_such_op:\n  signature: (input)\n  to: keras.ops.negative(input)\n"
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fwtranslate]\nto = "tf"\nrules = ["rules/mine.yaml"]\nmirrors = {"m.py" = "tf/m.py"}\n'
    )
    (tmp_path / "m.py").write_text("import torch\n\ny = torch.no_such_op(x)\n")
    assert hook("fwtranslate-check", "m.py", cwd=tmp_path).returncode == 0
    proc = hook("fwtranslate-mirror", "rules/mine.yaml", cwd=tmp_path)  # a rule file changed: all mirrors
    assert proc.returncode == 1 and "rewrote tf/m.py" in proc.stderr
    assert (tmp_path / "tf" / "m.py").read_text() == "import keras\n\ny = keras.ops.negative(x)\n"
