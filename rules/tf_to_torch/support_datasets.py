"""keras.datasets and keras.utils.to_categorical in plain Python and NumPy: the same arrays Keras
returns (values, dtypes, shapes, order), read from Keras' own dataset cache ($KERAS_HOME, else
~/.keras; /tmp/.keras where that is not writable) and downloaded from Keras' origins when a file
is not there yet, as keras.utils.get_file does (without its hash check).
"""

import gzip
import os
import pickle
import tarfile
import urllib.request

import numpy as np
import torch

_KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def _keras_datasets(cache_subdir="datasets"):
    """Keras' cache folder for datasets, as keras.utils.get_file chooses it."""
    home = os.environ.get("KERAS_HOME")
    if home is None:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")  # noqa: S108 (Keras' own fallback)
    base = os.path.expanduser(home)
    if os.path.exists(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")  # noqa: S108 (keras.utils.get_file's fallback)
    folder = os.path.join(base, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    return folder


def keras_cache_file(fname, origin, cache_subdir="datasets"):
    """The path of ``fname`` in Keras' cache, downloaded from ``origin`` if it is missing."""
    path = os.path.join(_keras_datasets(cache_subdir), fname)
    if not os.path.exists(path):
        urllib.request.urlretrieve(origin, path)  # noqa: S310 (the https origins Keras downloads from)
    return path


def keras_mnist_load_data(path="mnist.npz"):
    """keras.datasets.mnist.load_data: uint8 (60000, 28, 28) / (10000, 28, 28) images, uint8 labels."""
    with np.load(keras_cache_file(path, _KERAS_ORIGIN + "mnist.npz"), allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])


def keras_fashion_mnist_load_data():
    """keras.datasets.fashion_mnist.load_data: the four IDX files of Keras' cache."""
    subdir = os.path.join("datasets", "fashion-mnist")
    names = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz"]
    names += ["t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]
    arrays = []
    for labels, images in (names[0:2], names[2:4]):
        with gzip.open(keras_cache_file(labels, _KERAS_ORIGIN + labels, subdir), "rb") as f:
            y = np.frombuffer(f.read(), np.uint8, offset=8)
        with gzip.open(keras_cache_file(images, _KERAS_ORIGIN + images, subdir), "rb") as f:
            x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(len(y), 28, 28)
        arrays.append((x, y))
    return arrays[0], arrays[1]


def _cifar_batches(dirname, origin, folder):
    """The extracted CIFAR folder of Keras' cache; Keras' archive (downloaded if needed) is
    extracted there first, as keras.utils.get_file(extract=True) does."""
    extracted = os.path.join(_keras_datasets(), dirname)
    if not os.path.isdir(extracted):
        with tarfile.open(keras_cache_file(dirname + "_archive", origin)) as tar:
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}  # Python >= 3.11.4
            tar.extractall(extracted, **safe)  # noqa: S202 (Keras' own archive, extracted as get_file does)
    return os.path.join(extracted, folder)


class _NumpyUnpickler(pickle.Unpickler):
    """Keras' RestrictedUnpickler: a CIFAR batch holds NumPy arrays and lists, nothing else may load."""

    _ALLOWED = frozenset(
        {
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
        }
    )

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to deserialize {module}.{name} while loading a Keras dataset")


def _cifar_batch(path, label_key="labels"):
    with open(path, "rb") as f:
        d = {k.decode("utf8"): v for k, v in _NumpyUnpickler(f, encoding="bytes").load().items()}
    return d["data"].reshape(d["data"].shape[0], 3, 32, 32), d[label_key]


def keras_cifar10_load_data():
    """keras.datasets.cifar10.load_data: uint8 (50000, 32, 32, 3) channels-last images (Keras'
    default image_data_format), uint8 (50000, 1) labels."""
    path = _cifar_batches(
        "cifar-10-batches-py-target", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-batches-py"
    )
    x_train = np.empty((50000, 3, 32, 32), dtype="uint8")
    y_train = np.empty((50000,), dtype="uint8")
    for i in range(1, 6):
        x_train[(i - 1) * 10000 : i * 10000], y_train[(i - 1) * 10000 : i * 10000] = _cifar_batch(
            os.path.join(path, f"data_batch_{i}")
        )
    x_test, y_test = _cifar_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test), (len(y_test), 1)).astype(y_train.dtype)
    return (x_train.transpose(0, 2, 3, 1), y_train), (x_test.transpose(0, 2, 3, 1).astype(x_train.dtype), y_test)


def keras_to_categorical(x, num_classes=None):
    """keras.utils.to_categorical on NumPy data (float64 one-hot rows; a trailing axis of 1 is
    dropped first); a torch tensor gets torch's one_hot, as Keras gives the backend's."""
    if isinstance(x, torch.Tensor):
        if x.dim() > 1 and x.shape[-1] == 1:
            x = x.reshape(tuple(x.shape[:-1]))
        return torch.nn.functional.one_hot(x.long(), -1 if num_classes is None else num_classes).float()
    x = np.array(x, dtype="int64")
    input_shape = x.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    x = x.reshape(-1)
    if not num_classes:
        num_classes = np.max(x) + 1
    categorical = np.zeros((x.shape[0], num_classes))
    categorical[np.arange(x.shape[0]), x] = 1
    return np.reshape(categorical, input_shape + (num_classes,))
