"""Synthetic datasets written where the real loaders read them, so whole scripts run unmodified.

Real MNIST / Fashion-MNIST / CIFAR-10 cannot be downloaded here. These functions write small
learnable stand-ins (class k: a bright square at a place of its own, plus noise) in the exact
formats and places of the originals:

- torchvision (``root`` is the script's data folder): ``root/MNIST/raw/{train,t10k}-{images-idx3,
  labels-idx1}-ubyte`` (and ``FashionMNIST``), the big-endian IDX files torchvision reads after its
  own download; ``root/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta}``, Python 2
  pickles (keys and image bytes are Python 2 ``str``, so ``encoding="latin1"`` and ``"bytes"``
  both read them, as they read the real files);
- Keras (``keras_home`` is ``$KERAS_HOME``): ``datasets/mnist.npz``, ``datasets/fashion-mnist/
  *-ubyte.gz`` and ``datasets/cifar-10-batches-py-target_archive`` (a tar.gz that Keras extracts).

torchvision's CIFAR-10 and Keras' ``mnist.npz`` / CIFAR-10 check file hashes: the synthetic files
cannot match them, so ``scripts_runner.py`` accepts files under the synthetic folders (the only
change to either framework's behaviour). Standard library and NumPy only.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import struct
import tarfile
from pathlib import Path
from typing import ClassVar

import numpy as np

CLASSES = 10
KERAS_CIFAR_TRAIN = 50_000


def images(count: int, size: int, channels: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` uint8 images ``(N, size, size[, channels])`` and uint8 labels: noise, plus a bright
    square whose place (and, with channels, colour) gives the class."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, size=count).astype(np.uint8)
    shape = (count, size, size) + ((channels,) if channels else ())
    x = rng.integers(0, 128, size=shape, dtype=np.uint8)  # uint8 throughout: 50,000 CIFAR images fit
    cell = size // 4
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 4)
        top, left = row * cell + cell // 4, col * cell + cell // 4
        patch = x[i, top : top + cell, left : left + cell]
        if channels:
            patch[..., int(label) % channels] += 60
            patch += 30
        else:
            patch += 70
    return x, labels


def _idx(array: np.ndarray) -> bytes:
    """The IDX format of MNIST (big endian): 0, 0, type 0x08 (uint8), rank, then the sizes."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">i", n) for n in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _mnist_files(split: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, bytes]:
    return {
        f"{prefix}-{kind}": _idx(arrays[index])
        for prefix, arrays in split.items()
        for kind, index in (("images-idx3-ubyte", 0), ("labels-idx1-ubyte", 1))
    }


def mnist_split(train: int, test: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": images(train, 28, None, seed), "t10k": images(test, 28, None, seed + 1)}


def cifar_split(train: int, test: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": images(train, 32, 3, seed), "test": images(test, 32, 3, seed + 1)}


def write_torchvision_mnist(root: Path, split: dict, folder: str = "MNIST") -> None:
    raw = Path(root) / folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, data in _mnist_files(split).items():
        (raw / name).write_bytes(data)


# --- Python 2 pickles: keys and byte strings as Python 2 ``str`` (opcode BINSTRING) -------------
class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]  # the pure-Python one: it has ``dispatch``
    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_py2_str(self, obj: bytes) -> None:
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def py2_pickle(value: object) -> bytes:
    out = io.BytesIO()
    _Py2Pickler(out, protocol=2).dump(value)
    return out.getvalue()


def _cifar_batches(split: dict) -> dict[str, bytes]:
    x_train, y_train = split["train"]
    x_test, y_test = split["test"]
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    files = {}
    for i, rows in enumerate(np.array_split(np.arange(len(x_train)), 5), start=1):
        files[f"data_batch_{i}"] = (x_train[rows], y_train[rows])
    files["test_batch"] = (x_test, y_test)
    out = {
        name: py2_pickle(
            {
                b"batch_label": name.encode(),
                # CIFAR's rows: the red plane, then green, then blue (channels first), flattened
                b"data": np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), -1)),
                b"labels": [int(v) for v in y],
            }
        )
        for name, (x, y) in files.items()
    }
    out["batches.meta"] = py2_pickle(
        {b"label_names": names, b"num_vis": 3072, b"num_cases_per_batch": len(x_train) // 5}
    )
    return out


def write_torchvision_cifar10(root: Path, split: dict) -> None:
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in _cifar_batches(split).items():
        (folder / name).write_bytes(data)


def write_keras_datasets(keras_home: Path, mnist: dict, fashion: dict, cifar: dict | None) -> None:
    """The files ``keras.datasets.{mnist,fashion_mnist,cifar10}.load_data()`` read from the cache."""
    datasets = Path(keras_home) / "datasets"
    (datasets / "fashion-mnist").mkdir(parents=True, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = mnist["train"], mnist["t10k"]
    np.savez(datasets / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    for name, data in _mnist_files(fashion).items():
        (datasets / "fashion-mnist" / f"{name}.gz").write_bytes(gzip.compress(data, mtime=0))
    if cifar is None:
        return
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz", compresslevel=1) as tar:
        for name, data in _cifar_batches(cifar).items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    (datasets / "cifar-10-batches-py-target_archive").write_bytes(archive.getvalue())


def write_all(root: Path, train: int = 512, test: int = 128, seed: int = 0, keras_cifar: bool = True) -> dict[str, str]:
    """Every dataset under ``root``: ``root/data`` (torchvision's root) and ``root/keras_home``.
    The same MNIST and Fashion-MNIST (another seed) arrays on both sides. CIFAR-10: ``train``
    images for torchvision; Keras' loader fills a fixed (50000, 3, 32, 32) array from five batches
    of 10,000, so its cache gets 50,000 (150 MB; ``keras_cifar=False`` leaves it out). Returns
    the two folders."""
    data, keras_home = Path(root) / "data", Path(root) / "keras_home"
    mnist, fashion = mnist_split(train, test, seed), mnist_split(train, test, seed + 10)
    write_torchvision_mnist(data, mnist, "MNIST")
    write_torchvision_mnist(data, fashion, "FashionMNIST")
    write_torchvision_cifar10(data, cifar_split(train, test, seed + 20))
    cifar = cifar_split(KERAS_CIFAR_TRAIN, test, seed + 20) if keras_cifar else None
    write_keras_datasets(keras_home, mnist, fashion, cifar)
    return {"data": str(data), "keras_home": str(keras_home)}


if __name__ == "__main__":
    import sys

    print(write_all(Path(sys.argv[1] if len(sys.argv) > 1 else os.getcwd())))
