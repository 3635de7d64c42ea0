"""fwtranslate.closure and `--with-deps`: the modules a file inside a package needs, staged
and translated on their own (a synthetic package shaped like torchvision: a heavy top-level
__init__, a models/ file importing ..utils, ._helpers and a re-exported class of ..ops)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from fwtranslate.closure import EMPTIED_HEADER, PRUNED_HEADER, ClosureError, closure, stage
from helpers import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[2]

PACKAGE = {
    "vision/__init__.py": "from . import datasets, models, ops\nimport vision._compiled  # a C extension in real life\n",
    "vision/_compiled.py": "raise ImportError('no compiled ops here')\n",
    "vision/datasets.py": "import PIL_that_is_not_installed\n",
    "vision/utils.py": "def log_once(obj):\n    return None\n",
    "vision/models/__init__.py": "from .net import *\nfrom .other import *\n",
    "vision/models/other.py": "import vision.datasets\n",
    "vision/models/_helpers.py": "from ..utils import log_once\n\nSCALE = 2\n",
    "vision/models/net.py": dedent("""\
        import torch
        from torch import nn

        from ..ops import Block
        from ..utils import log_once
        from ._helpers import SCALE


        class Net(nn.Module):
            def __init__(self, width=4):
                super().__init__()
                log_once(self)
                self.block = Block(width)
                self.head = nn.Linear(width, SCALE)

            def forward(self, x):
                def later():
                    from .other import nothing  # inside a function: not needed to import net
                return self.head(self.block(x))
        """),
    "vision/ops/__init__.py": dedent("""\
        from .block import Block, block_fn
        from .boxes import nms
        from .star import *

        __all__ = ["Block", "block_fn", "nms"]
        """),
    "vision/ops/block.py": dedent("""\
        from torch import nn


        class Block(nn.Module):
            def __init__(self, width):
                super().__init__()
                self.fc = nn.Linear(width, width)

            def forward(self, x):
                return self.fc(x).relu()


        def block_fn(x):
            return x
        """),
    "vision/ops/boxes.py": "import vision._compiled\n\ndef nms():\n    pass\n",
    "vision/ops/star.py": "__all__ = ['Other']\n\nclass Other:\n    pass\n",
}


@pytest.fixture
def package(tmp_path) -> Path:
    for rel, text in PACKAGE.items():
        path = tmp_path / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "src"


def test_closure_keeps_only_what_importing_the_file_runs(package):
    found = closure(package / "vision/models/net.py")
    assert found.root == package.resolve()
    assert found.start == "vision.models.net"
    # whole modules: the file, its helpers; the ops package only for the name it gives
    assert found.modules == [
        "vision.models._helpers",
        "vision.models.net",
        "vision.ops",
        "vision.ops.block",
        "vision.utils",
    ]
    assert found.names == {"vision.ops": {"Block"}}
    files = found.files()
    assert set(files) == {
        "vision/__init__.py",
        "vision/models/__init__.py",
        "vision/ops/__init__.py",
        "vision/models/net.py",
        "vision/models/_helpers.py",
        "vision/ops/block.py",
        "vision/utils.py",
    }
    assert files["vision/__init__.py"] == EMPTIED_HEADER  # datasets, compiled ops: not needed
    assert files["vision/models/__init__.py"] == EMPTIED_HEADER
    assert files["vision/ops/__init__.py"] == PRUNED_HEADER + "from .block import Block\n"
    assert files["vision/models/net.py"] == PACKAGE["vision/models/net.py"]


def test_star_import_kept_only_when_it_provides_the_name(package):
    (package / "vision/models/uses_other.py").write_text("from ..ops import Other\n")
    found = closure(package / "vision/models/uses_other.py")
    assert found.files()["vision/ops/__init__.py"] == PRUNED_HEADER + "from .star import *\n"
    assert "vision.ops.star" in found.modules and "vision.ops.boxes" not in found.modules


def test_staged_closure_imports_without_the_rest_of_the_package(package, tmp_path):
    pytest.importorskip("torch")
    dest = tmp_path / "staged"
    stage(closure(package / "vision/models/net.py"), dest)
    code = "import vision.models.net as m, torch; print(m.Net()(torch.zeros(1, 4)).shape)"
    run = subprocess.run([sys.executable, "-c", code], cwd=dest, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "torch.Size([1, 2])" in run.stdout
    # the original package itself cannot be imported: the closure is what makes it usable
    run = subprocess.run(
        [sys.executable, "-c", "import vision.models.net"], cwd=package, capture_output=True, text=True
    )
    assert run.returncode != 0


def test_not_in_a_package(tmp_path):
    (tmp_path / "alone.py").write_text("import torch\n")
    with pytest.raises(ClosureError, match="not inside a package"):
        closure(tmp_path / "alone.py")


def _cli(*args, cwd=None) -> CliResult:
    return run_cli(*args, cwd=cwd, env={"PYTHONPATH": str(ROOT / "src")})


def test_with_deps_translates_the_closure_as_a_package_tree(package, tmp_path):
    out = tmp_path / "out"
    run = _cli(package / "vision/models/net.py", "--to", "tf", "--with-deps", "-o", out)
    assert run.returncode == 0, run.stderr
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*.py"))
    assert written == [
        "vision/__init__.py",
        "vision/models/__init__.py",
        "vision/models/_helpers.py",
        "vision/models/net.py",
        "vision/ops/__init__.py",
        "vision/ops/block.py",
        "vision/utils.py",
    ]
    net = (out / "vision/models/net.py").read_text()
    assert "import torch" not in net and "from ..ops import Block" in net and "keras.layers.Dense" in net
    assert "keras" in (out / "vision/ops/block.py").read_text()
    assert (out / "vision/utils.py").read_text() == PACKAGE["vision/utils.py"]  # framework-free: unchanged
    for path in out.rglob("*.py"):
        ast.parse(path.read_text())
    assert "translating 5 module(s) of the 'vision' package" in run.stderr


def test_with_deps_diagnostics_name_the_original_files(package, tmp_path):
    (package / "vision/utils.py").write_text("import torch\n\ndef log_once(obj):\n    return torch.stft(obj)\n")
    run = _cli(package / "vision/models/net.py", "--to", "tf", "--with-deps", "-o", tmp_path / "out")
    assert run.returncode == 1
    assert f"{package.resolve() / 'vision/utils.py'}:4:" in run.stderr and "torch.stft" in run.stderr
    assert "fwtranslate-deps-" not in run.stderr  # never the staging folder


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "--with-deps writes a package tree"),
        (["--stdout"], "--with-deps writes a package tree"),
    ],
)
def test_with_deps_usage_errors(package, tmp_path, extra, message):
    run = _cli(package / "vision/models/net.py", "--to", "tf", "--with-deps", *extra)
    assert run.returncode == 2 and message in run.stderr


def test_with_deps_outside_a_package_is_a_usage_error(tmp_path):
    (tmp_path / "alone.py").write_text("import torch\n")
    run = _cli(tmp_path / "alone.py", "--to", "tf", "--with-deps", "-o", tmp_path / "out")
    assert run.returncode == 2 and "not inside a package" in run.stderr
    assert not (tmp_path / "out").exists()
