"""End to end: every sample model in samples/torch/ translates through the command line.

For each sample: exit code 0, the output parses and imports no torch, every top-level class
and function (and the docstrings) survives, the input file is untouched, translating twice
gives the same bytes, and the translated model runs and returns the PyTorch model's output
shape (``test_translation_runs``, the slow one: it imports TensorFlow and compiles with XLA).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers import fwtranslate_command

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "torch"
NAMES = ("mlp", "lenet", "resnet", "seq_tagger", "transformer", "unet")


@dataclass(frozen=True)
class Run:
    returncode: int
    stderr: str
    code: str  # the file written with -o
    report: dict
    input_before: str  # sha256 of the input before and after the run
    input_after: str


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def _out_dir() -> Path:
    import tempfile

    return Path(tempfile.mkdtemp(prefix="fwtranslate-samples-"))


@functools.cache
def translate_sample(name: str) -> Run:
    src = SAMPLES / f"{name}.py"
    out = _out_dir() / f"{name}_tf.py"
    report = _out_dir() / f"{name}.json"
    before = _sha(src)
    proc = subprocess.run(
        [*fwtranslate_command(), str(src), "--to", "tf", "-o", str(out), "--report-json", str(report)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    code = out.read_text(encoding="utf-8") if out.exists() else ""
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return Run(proc.returncode, proc.stderr, code, data, before, _sha(src))


def _top_level_names(tree: ast.Module) -> dict[str, str | None]:
    return {
        n.name: ast.get_docstring(n)
        for n in tree.body
        if isinstance(n, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _torch_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "torch"]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and node.module
            and node.module.split(".")[0] == "torch"
        ):
            found.append(node.module)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_translates_with_exit_code_0(name):
    run = translate_sample(name)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr}"
    assert " error " not in run.stderr, run.stderr
    totals = run.report["totals"]
    assert totals["errors"] == 0 and totals["unconverted_lines"] == 0, run.report["diagnostics"]
    assert totals["converted_lines"] == totals["framework_lines"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_output_parses_and_imports_no_torch(name):
    run = translate_sample(name)
    assert run.code, run.stderr
    tree = ast.parse(run.code)
    assert _torch_imports(tree) == []
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"torch", "nn", "F"}, "a torch name survived:\n" + run.code
    assert "import keras" in run.code.splitlines()


@pytest.mark.parametrize("name", NAMES)
def test_names_and_docstrings_survive(name):
    source = ast.parse((SAMPLES / f"{name}.py").read_text(encoding="utf-8"))
    run = translate_sample(name)
    out = ast.parse(run.code)
    assert ast.get_docstring(out) == ast.get_docstring(source)
    # support helpers may be added; every source definition stays, with its docstring
    translated = _top_level_names(out)
    for name, doc in _top_level_names(source).items():
        assert name in translated, f"{name} is gone"
        assert translated[name] == doc, f"the docstring of {name} changed"
    # methods too: only forward is renamed (to call)
    for cls in (n for n in source.body if isinstance(n, ast.ClassDef)):
        translated = next(n for n in out.body if isinstance(n, ast.ClassDef) and n.name == cls.name)
        want = {m.name.replace("forward", "call") for m in cls.body if isinstance(m, ast.FunctionDef)}
        assert {m.name for m in translated.body if isinstance(m, ast.FunctionDef)} == want


@pytest.mark.parametrize("name", NAMES)
def test_input_file_unchanged(name):
    run = translate_sample(name)
    assert run.input_before == run.input_after


@functools.cache
def translate_folder_again() -> Path:
    """All samples once more, as a folder, in one process with another hash seed."""
    out = _out_dir() / "again"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [*fwtranslate_command(), str(SAMPLES), "--to", "tf", "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    return out


@pytest.mark.parametrize("name", NAMES)
def test_translation_is_deterministic(name):
    """Same bytes from another process (folder mode, another hash seed) and from the Python API."""
    run = translate_sample(name)
    again = translate_folder_again() / f"{name}.py"
    assert again.is_file()
    assert again.read_text(encoding="utf-8") == run.code
    from fwtranslate import translate

    src = SAMPLES / f"{name}.py"
    assert translate(src.read_text(encoding="utf-8"), path=str(src)).code == run.code


def test_samples_are_documented():
    readme = (ROOT / "samples" / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        tree = ast.parse((SAMPLES / f"{name}.py").read_text(encoding="utf-8"))
        assert ast.get_docstring(tree), f"{name}.py has no module docstring"
        assert f"`{name}.py`" in readme
    for name, entry, *_ in RUNS:
        assert f"`{entry}`" in readme, f"{entry} ({name}.py) is not in samples/README.md"


# --- the translated code runs --------------------------------------------------------------
# (sample, entry, kwargs, input shape, dtype, token-id range)
RUNS = [
    ("mlp", "MLP", {}, (2, 32), "float32", None),
    ("mlp", "mlp_gelu", {}, (2, 32), "float32", None),
    ("lenet", "LeNet", {}, (2, 1, 28, 28), "float32", None),
    ("resnet", "resnet8", {}, (2, 3, 32, 32), "float32", None),
    ("resnet", "ResNet", {"layers": [2, 1], "widths": [8, 16], "num_classes": 3}, (2, 3, 16, 16), "float32", None),
    ("seq_tagger", "SeqTagger", {}, (2, 12), "int64", 1000),
    ("transformer", "TransformerClassifier", {}, (2, 16), "int64", 1000),
    ("transformer", "tiny_transformer", {}, (2, 8), "int64", 500),
    ("unet", "UNet", {}, (2, 3, 32, 32), "float32", None),
    ("unet", "unet_upsample", {}, (2, 3, 16, 16), "float32", None),
]


def _load(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _input(shape, dtype, high):
    import numpy as np

    rng = np.random.default_rng(0)
    if dtype == "int64":
        return rng.integers(0, high, size=shape, dtype=np.int64)
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("name,entry,kwargs,shape,dtype,high", RUNS, ids=[f"{r[0]}-{r[1]}" for r in RUNS])
def test_translation_runs(name, entry, kwargs, shape, dtype, high):
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    torch = pytest.importorskip("torch")
    tf = pytest.importorskip("tensorflow")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip(f"keras runs on {keras.backend.backend()}, not tensorflow")
    run = translate_sample(name)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stderr}"
    x = _input(shape, dtype, high)

    original = _load(SAMPLES / f"{name}.py", f"_fwt_sample_{name}")
    torch.manual_seed(0)
    torch_model = getattr(original, entry)(**kwargs).eval()
    assert sum(p.numel() for p in torch_model.parameters()) < 1_000_000, "samples stay small"
    with torch.no_grad():
        expected = tuple(torch_model(torch.from_numpy(x)).shape)

    translated = _load(_out_dir() / f"{name}_tf.py", f"_fwt_sample_{name}_tf")
    keras.utils.set_random_seed(0)
    model = getattr(translated, entry)(**kwargs)
    assert isinstance(model, keras.Model), f"{entry}() built a {type(model).__name__}, not a keras.Model"
    # channels-first convolutions run on a CPU only under XLA
    compiled = tf.function(lambda t: model(t, training=False), jit_compile=True)
    y = compiled(tf.constant(x))
    assert tuple(y.shape) == expected
