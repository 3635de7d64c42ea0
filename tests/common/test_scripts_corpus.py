"""Whole scripts (benchmarks/scripts/) translated and run end to end, in this process, on tiny
synthetic data written where their loaders read (benchmarks/scripts_data.py): the CI sample of
benchmarks/scripts_corpus.py.

- ``torch/regression_tensordataset`` (TensorDataset, DataLoader, MSE + Adam, evaluation, save and
  reload): original and translation from the same initial weights, per-epoch losses compared;
- ``torch/mnist_cnn`` (torchvision's MNIST files, Compose(ToTensor, Normalize), devices, StepLR,
  accuracy, ``torch.save(model.state_dict())`` and a reload into a fresh ``Net()``): the
  translation alone (torchvision is not installed here), on MNIST's raw files;
- ``keras/mnist_custom_loop`` and ``keras/mnist_convnet`` (``keras.datasets.mnist`` from
  ``$KERAS_HOME``): the originals, which the Keras -> PyTorch row of the benchmark starts from.
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import os
import runpy
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import fwtranslate

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
_names = itertools.count()


def _module(path: Path, name: str | None = None):
    name = name or f"_whole_script_{next(_names)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(BENCHMARKS))
scripts_data = _module(BENCHMARKS / "scripts_data.py", "scripts_data")
corpus = _module(BENCHMARKS / "scripts_corpus.py", "scripts_corpus")
runner = _module(BENCHMARKS / "scripts_runner.py", "scripts_runner")
sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    return root, scripts_data.write_all(root, train=128, test=32, keras_cifar=False)


def run_script(path: Path, args: list[str], cwd: Path, caplog, monkeypatch) -> dict:
    """``python PATH ARGS`` in this process (as ``__main__``, in ``cwd``); the facts its log gives."""
    caplog.clear()
    caplog.set_level(logging.INFO)
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", [str(path), *args])
    runpy.run_path(str(path), run_name="__main__")
    return corpus.parse("\n".join(r.getMessage() for r in caplog.records))


def translation(path: Path, to: str, folder: Path) -> Path:
    result = fwtranslate.translate(path.read_text(), to=to, path=str(path))
    assert result.ok, [d.format() for d in result.diagnostics if d.severity == "error"]
    out = folder / f"{path.stem}_{to}.py"
    out.write_text(result.code)
    return out


def test_synthetic_files_read_back_as_written(synthetic):
    """The formats are the loaders' own: torchvision's IDX files and CIFAR pickles read back (by
    the translation's readers, which follow torchvision's) as the arrays written."""
    _, folders = synthetic
    split = scripts_data.mnist_split(128, 32, 0)
    code = fwtranslate.translate(
        "import torchvision\nds = torchvision.datasets.MNIST(ROOT, train=False)\n"
        "cifar = torchvision.datasets.CIFAR10(ROOT, train=True)\n",
        to="tf",
    ).code
    namespace = {"ROOT": folders["data"]}
    exec(compile(code, "<translation>", "exec"), namespace)
    np.testing.assert_array_equal(namespace["ds"].data, split["t10k"][0])
    np.testing.assert_array_equal(np.asarray(namespace["ds"].targets), split["t10k"][1])
    cifar = scripts_data.cifar_split(128, 32, 20)["train"]
    np.testing.assert_array_equal(namespace["cifar"].data, cifar[0])
    assert list(namespace["cifar"].targets) == cifar[1].tolist()


def test_regression_script_trains_like_the_original(synthetic, tmp_path, caplog, monkeypatch):
    original = BENCHMARKS / "scripts" / "torch" / "regression_tensordataset.py"
    for side in ("original", "translation"):
        (tmp_path / side).mkdir()
    translated = translation(original, "tf", tmp_path)
    # the same initial weights on both sides: the original's, converted
    from fwtranslate.weights.transfer import torch_to_keras

    torch_model = _module(original).Regressor()
    torch.save(torch_model.state_dict(), tmp_path / "original" / "init.pt")
    keras_model = _module(translated).Regressor()
    keras_model(np.zeros((2, 8), "float32"))
    torch_to_keras(torch_model, keras_model)
    keras_model.save_weights(tmp_path / "translation" / "init.pt.weights.h5")

    args = ["--epochs", "2", "--batch-size", "128", "--resume", "init.pt", "--save-model", "model.pt"]
    want = run_script(original, args, tmp_path / "original", caplog, monkeypatch)
    got = run_script(translated, args, tmp_path / "translation", caplog, monkeypatch)
    assert len(got["losses"]) == 2 and got["losses"][1] < got["losses"][0]
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=corpus.RTOL, atol=corpus.ATOL)
    assert got["test"].startswith("mae ") and want["test"].startswith("mae ")
    assert float(got["test"].split()[1]) == pytest.approx(float(want["test"].split()[1]), rel=1e-3)
    assert got["reload"] == 0.0
    assert (tmp_path / "translation" / "model.pt.weights.h5").exists()


def test_mnist_script_translation_runs_on_torchvisions_files(synthetic, tmp_path, caplog, monkeypatch):
    _, folders = synthetic
    translated = translation(BENCHMARKS / "scripts" / "torch" / "mnist_cnn.py", "tf", tmp_path)
    args = ["--epochs", "2", "--batch-size", "32", "--data", folders["data"], "--save-model", "mnist_cnn.pt"]
    got = run_script(translated, args, tmp_path, caplog, monkeypatch)
    assert len(got["losses"]) == 2 and all(np.isfinite(got["losses"]))
    assert got["test"] is not None and got["test"].startswith("loss ")
    assert got["reload"] == 0.0  # the fresh Net() loaded the checkpoint in its first call
    assert (tmp_path / "mnist_cnn.pt.weights.h5").exists()


@pytest.fixture
def keras_home(synthetic, monkeypatch):
    """Keras' dataset cache moved to the synthetic one (KERAS_HOME is read when Keras is imported,
    so the setting itself is moved) and its hash check relaxed there, as scripts_runner.py does."""
    from keras.src.backend import config
    from keras.src.utils import file_utils

    root, folders = synthetic
    monkeypatch.setattr(config, "_KERAS_DIR", folders["keras_home"])
    monkeypatch.setenv(runner.ROOT_VARIABLE, str(root))
    monkeypatch.setattr(file_utils, "validate_file", file_utils.validate_file)
    runner._patch_keras(file_utils)
    return folders["keras_home"]


@pytest.mark.parametrize("name", ["mnist_custom_loop"])
def test_keras_script_runs_on_the_keras_cache(keras_home, tmp_path, caplog, monkeypatch, name):
    got = run_script(BENCHMARKS / "scripts" / "keras" / f"{name}.py", ["--epochs", "2"], tmp_path, caplog, monkeypatch)
    assert len(got["losses"]) == 2 and got["losses"][1] < got["losses"][0]
    assert got["reload"] == 0.0
