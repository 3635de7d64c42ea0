"""torch.utils.data -> Keras (rules/torch_to_tf/data.yaml, support_data.py): the same script runs
under PyTorch and, translated, under TensorFlow on the same data; the batches its loops see are
compared one by one (structure, dtype, shape, values), with shuffle off. Shuffled and sampled
orders are random in both frameworks, so they are checked for what they must be (permutations,
subsets, weights)."""

from __future__ import annotations

import os
import re
from types import MappingProxyType

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import pytest

torch = pytest.importorskip("torch")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

import fwtranslate

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3, 4, 4)).astype("float32")  # NCHW images stay NCHW
Y = RNG.integers(0, 5, size=(10,)).astype("int64")


def run_translation(source: str, names=("out",), **inputs):
    """Run the translation of ``source`` with TensorFlow tensors x, y (and ``inputs``): the values of ``names``."""
    result = fwtranslate.translate(source, to="tf")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert not re.search(r"^\s*(import|from)\s+torch", result.code, re.M), result.code  # TensorFlow only
    translated = {"x": tf.constant(X), "y": tf.constant(Y), **inputs}
    exec(compile(result.code, "<translation>", "exec"), translated)
    return [translated[n] for n in names]


def run_both(source: str, names=("out",), **inputs):
    """Run ``source`` with torch tensors x, y, and its translation with TensorFlow tensors x, y:
    (original values, translated values) of ``names``."""
    original = {"x": torch.from_numpy(X), "y": torch.from_numpy(Y), **inputs}
    exec(compile(source, "<original>", "exec"), original)
    return [original[n] for n in names], run_translation(source, names, **inputs)


def assert_same(a, b, path="batch"):
    """A torch structure (what the original loop sees) equals the translation's."""
    if isinstance(a, torch.Tensor):
        assert tf.is_tensor(b), f"{path}: {type(b)} is not a tensor"
        b = keras.ops.convert_to_numpy(b)
        a = a.numpy()
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} vs {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} vs {b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b), f"{path}: {a.keys()} vs {b}"
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        same_type = type(a).__name__ == type(b).__name__  # namedtuple classes: one per namespace
        assert same_type and len(a) == len(b), f"{path}: {type(a)} vs {type(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


TENSOR_LOADER = """
import torch
from torch.utils.data import DataLoader, TensorDataset
ds = TensorDataset(x, y)
loader = DataLoader(ds, batch_size={bs}, shuffle=False, drop_last={drop}, num_workers=2)
out = [batch for batch in loader] + [len(loader), len(loader.dataset), loader.batch_size, list(ds[3])]
for xb, yb in loader:
    out.append(xb.shape[0] + yb.shape[0])
"""


@pytest.mark.parametrize(("bs", "drop"), [(1, False), (4, False), (4, True), (5, True), (32, False), (32, True)])
def test_tensor_dataset_loader(bs, drop):
    (a,), (b,) = run_both(TENSOR_LOADER.format(bs=bs, drop=drop))
    assert_same(a, b)


MAP_STYLE = """
import collections
import numpy as np
import torch
from torch.utils import data

Pair = collections.namedtuple("Pair", "image label")

class Samples(data.Dataset):
    def __init__(self, images, labels):
        self.images = images
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {{
            "image": self.images[i],
            "label": int(i % 3),
            "weight": float(i) / 2,
            "flag": i % 2 == 0,
            "name": "s" + str(i),
            "array": np.full((2,), i, dtype=np.float64),
            "scalar": np.int16(i),
            "pair": Pair(self.images[i][0], [i, i + 1]),
        }}

ds = Samples(x, y)
loader = data.DataLoader(ds, batch_size={bs}, drop_last={drop})
out = list(loader) + [len(loader), [ds[i]["label"] for i in range(2)]]
"""


@pytest.mark.parametrize(("bs", "drop"), [(3, False), (3, True), (None, False)])
def test_map_style_dataset_default_collate(bs, drop):
    """Dicts, namedtuples, lists, Python ints / floats / bools / strings and NumPy values are
    collated as torch.utils.data.default_collate does (ints int64, floats float64, a list of
    strings) or, with batch_size=None, converted as default_convert does."""
    (a,), (b,) = run_both(MAP_STYLE.format(bs=bs, drop=drop))
    assert_same(a, b)


def test_collate_fn_sampler_and_batch_sampler():
    source = """
import torch
from torch.utils.data import DataLoader, TensorDataset, SequentialSampler, BatchSampler

def stack_pairs(samples):
    return torch.stack([s[0] for s in samples]), torch.stack([s[1] for s in samples])

ds = TensorDataset(x, y)
a = list(DataLoader(ds, batch_size=3, collate_fn=stack_pairs))
b = list(DataLoader(ds, batch_size=4, sampler=SequentialSampler(ds)))
c = list(DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 3, drop_last=True)))
d = list(DataLoader(ds, sampler=[9, 0, 4], batch_size=2))
out = [a, b, c, d, len(DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 3, False)))]
"""
    (a,), (b,) = run_both(source)
    assert_same(a, b)


def test_iterable_dataset_subset_concat():
    source = """
import torch
from torch.utils.data import ConcatDataset, DataLoader, IterableDataset, Subset, TensorDataset

class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        for i in range(self.n):
            yield x[i], i

ds = TensorDataset(x, y)
sub = Subset(ds, [7, 1, 4])
both = ConcatDataset([sub, ds])
plus = sub + sub
out = [
    list(DataLoader(Stream(7), batch_size=3)),
    list(DataLoader(Stream(7), batch_size=3, drop_last=True)),
    list(DataLoader(both, batch_size=4)),
    [s for s in sub],
    list(both[11]),
    list(both[-1]),
    len(both),
    len(plus),
    list(plus[4]),
]
"""
    (a,), (b,) = run_both(source)
    assert_same(a, b)


def test_iterating_a_dataset_stops_at_the_first_index_out_of_range():
    """torch's iteration ends on the IndexError of an out-of-range index (whatever __len__ says);
    TensorFlow raises InvalidArgumentError there, which ends the translated loop the same way."""
    source = """
import torch

class Rows(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return x[i]

out = [r for r in Rows()] + [len(list(torch.utils.data.TensorDataset(x, y)))]
"""
    (a,), (b,) = run_both(source)
    assert_same(a, b)


SHUFFLED = """
import torch
from torch.utils.data import DataLoader, TensorDataset
ids = torch.arange(20)
loader = DataLoader(TensorDataset(ids), batch_size=6, shuffle=True)
epochs = [torch.cat([b[0] for b in loader]).tolist() for _ in range(2)]
"""


def test_shuffle_is_a_new_permutation_each_epoch():
    _, (epochs,) = run_both(SHUFFLED, names=("epochs",))
    for order in epochs:
        assert sorted(order) == list(range(20))
    assert epochs[0] != epochs[1] and epochs[0] != list(range(20))  # P(equal) = 1 / 20!


def test_random_samplers_and_split():
    source = """
import torch
from torch.utils.data import DataLoader, RandomSampler, SubsetRandomSampler, TensorDataset, WeightedRandomSampler
from torch.utils.data import random_split
ds = TensorDataset(torch.arange(10))
subset = sorted(list(SubsetRandomSampler([1, 5, 7])))
weighted = list(WeightedRandomSampler(torch.tensor([0.0, 1.0, 0.0, 3.0]), 50))
with_replacement = list(RandomSampler(ds, replacement=True, num_samples=25))
long = list(RandomSampler(ds, num_samples=23))
parts = random_split(ds, [0.33, 0.33, 0.34])
sizes = [len(p) for p in parts] + [len(p) for p in random_split(ds, [7, 3])]
covered = sorted(int(p[i][0]) for p in parts for i in range(len(p)))
n_batches = len(DataLoader(ds, sampler=RandomSampler(ds, num_samples=7), batch_size=3))
"""
    names = ("subset", "weighted", "with_replacement", "long", "sizes", "covered", "n_batches")
    original, translated = run_both(source, names=names)
    for (name, a), b in zip(zip(names, original), translated):
        if name in ("subset", "sizes", "covered", "n_batches"):
            assert a == b, name  # deterministic in both
    _, weighted, with_replacement, long, *_ = translated
    assert set(weighted) <= {1, 3} and len(weighted) == 50
    assert len(with_replacement) == 25 and set(with_replacement) <= set(range(10))
    assert len(long) == 23 and sorted(long[:20]) == sorted(list(range(10)) * 2)


def test_keras_fit_accepts_the_loader():
    """The translated DataLoader is a keras.utils.PyDataset: fit runs one epoch over its batches."""
    source = """
import torch
from torch.utils.data import DataLoader, TensorDataset
loader = DataLoader(TensorDataset(x.reshape(10, -1), y.float()), batch_size=4, shuffle=True)
"""
    result = fwtranslate.translate(source, to="tf")
    namespace = {"x": tf.constant(X), "y": tf.constant(Y)}
    exec(compile(result.code, "<translation>", "exec"), namespace)
    model = keras.Sequential([keras.Input((48,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(namespace["loader"], epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("DataLoader(ds, shuffle=True, generator=g)", "generator is not translated"),
        ("DataLoader(ds, worker_init_fn=seed_worker, num_workers=4)", "worker_init_fn is never called"),
        ("random_split(ds, [8, 2], generator=g)", "generator is not translated"),
    ],
)
def test_untranslated_randomness_is_reported(call, message):
    source = f"import torch\nfrom torch.utils.data import DataLoader, random_split\nout = {call}\n"
    result = fwtranslate.translate(source, to="tf")
    assert any(message in d.message and d.severity == "warning" for d in result.diagnostics), result.diagnostics


# torchvision. It is not a dependency of the test environment: where it is importable the original
# runs too and the batches are compared with it; the translation is always checked against
# torchvision's documented semantics on synthetic files written where torchvision looks (ToTensor:
# uint8 (H, W[, C]) -> float32 (C, H, W) / 255; Normalize: (x - mean[c]) / std[c]; MNIST:
# root/MNIST/raw/*-idx?-ubyte; CIFAR: root/cifar-10-batches-py/*, pickled {"data", "labels"}).

try:
    import torchvision
except (ImportError, RuntimeError, OSError):  # not installed, or built for another torch
    torchvision = None
needs_torchvision = pytest.mark.skipif(torchvision is None, reason="torchvision is not installed")


def write_idx(path, array):
    """An IDX file: (0, 0, 0x08 = uint8, rank), the sizes as big-endian int32, the bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">i4").tobytes()
    path.write_bytes(header + array.astype("uint8").tobytes())


def fake_mnist(root, folder="MNIST"):
    rng = np.random.default_rng(1)
    split = {}
    for prefix, n in (("train", 7), ("t10k", 4)):
        images, labels = rng.integers(0, 256, size=(n, 28, 28)), rng.integers(0, 10, size=(n,))
        write_idx(root / folder / "raw" / f"{prefix}-images-idx3-ubyte", images)
        write_idx(root / folder / "raw" / f"{prefix}-labels-idx1-ubyte", labels)
        split[prefix] = (images.astype("uint8"), labels)
    return split


MNIST_SCRIPT = """
import torch
from torchvision import datasets, transforms
transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
ds = datasets.{name}(root, train={train}, download=False, transform=transform, target_transform=transforms.Lambda(lambda t: t + 100))
loader = torch.utils.data.DataLoader(ds, batch_size=3, shuffle=False)
out = list(loader) + [len(ds), ds.data, ds.targets, ds.classes[:2]]
"""


@pytest.mark.parametrize(("name", "train"), [("MNIST", True), ("MNIST", False), ("FashionMNIST", True)])
def test_mnist_batches_match_torchvision_semantics(tmp_path, name, train):
    images, labels = fake_mnist(tmp_path, name)["train" if train else "t10k"]
    (out,) = run_translation(MNIST_SCRIPT.format(name=name, train=train), root=str(tmp_path))
    batches, (n, data, targets, classes) = out[:-4], out[-4:]
    assert n == len(images) and len(batches) == -(-n // 3) and classes[0] in ("0 - zero", "T-shirt/top")
    assert data.dtype == "uint8" and targets.dtype == "int64"
    np.testing.assert_array_equal(data, images)
    np.testing.assert_array_equal(targets, labels)
    expected = (images[:, None].astype("float32") / np.float32(255) - np.float32(0.1307)) / np.float32(0.3081)
    for i, (xb, yb) in enumerate(batches):
        assert xb.dtype == "float32" and xb.shape == (min(3, n - 3 * i), 1, 28, 28)  # NCHW, as the original
        assert yb.dtype == "int64"
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(xb), expected[3 * i : 3 * i + 3])
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(yb), labels[3 * i : 3 * i + 3] + 100)


@needs_torchvision
@pytest.mark.parametrize("name", ["MNIST", "FashionMNIST"])
def test_mnist_batches_match_torchvision(tmp_path, name):
    fake_mnist(tmp_path, name)
    (a,), (b,) = run_both(MNIST_SCRIPT.format(name=name, train=True), root=str(tmp_path))
    assert_same(a[:-4], b[:-4])
    assert_same(a[-4:-1], b[-4:-1])


def fake_cifar(root, hundred):
    import pickle

    rng = np.random.default_rng(2)
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    names = ["train", "test"] if hundred else [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    key = "fine_labels" if hundred else "labels"
    expected = {}
    for name in names:
        data = rng.integers(0, 256, size=(2, 3072)).astype("uint8")
        labels = rng.integers(0, 100 if hundred else 10, size=(2,)).tolist()
        (folder / name).write_bytes(pickle.dumps({"data": data, key: labels, "coarse_labels": labels}))
        expected[name] = (data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels)
    meta_name, meta_key = ("meta", "fine_label_names") if hundred else ("batches.meta", "label_names")
    (folder / meta_name).write_bytes(pickle.dumps({meta_key: [f"class{i}" for i in range(100 if hundred else 10)]}))
    train = [expected[n] for n in names[:-1]]
    return (np.concatenate([t[0] for t in train]), [label for t in train for label in t[1]]), expected[names[-1]]


CIFAR_SCRIPT = """
import torch
from torchvision import datasets, transforms
transform = transforms.Compose([
    transforms.CenterCrop(31),
    transforms.ToTensor(),
    transforms.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261)),
])
ds = Dataset(root, train={train}, transform=transform)
loader = torch.utils.data.DataLoader(ds, batch_size=4)
out = list(loader) + [len(ds), ds.data, ds.targets, ds.classes[:2]]
"""


@pytest.mark.parametrize(("hundred", "train"), [(False, True), (False, False), (True, True)])
def test_cifar_batches_match_torchvision_semantics(tmp_path, hundred, train):
    (images, labels), test_split = fake_cifar(tmp_path, hundred)
    if not train:
        images, labels = test_split
    source = CIFAR_SCRIPT.format(train=train).replace(
        "Dataset(", "datasets.CIFAR100(" if hundred else "datasets.CIFAR10("
    )
    (out,) = run_translation(source, root=str(tmp_path))
    batches, (n, data, targets, classes) = out[:-4], out[-4:]
    assert n == len(images) and classes == ["class0", "class1"] and targets == labels
    np.testing.assert_array_equal(data, images)  # (N, 32, 32, 3) uint8, as torchvision keeps it
    mean, std = np.float32([0.4914, 0.4822, 0.4465]), np.float32([0.247, 0.243, 0.261])
    # CenterCrop(31) of 32: top = left = round(0.5) = 0
    chw = images[:, :31, :31].transpose(0, 3, 1, 2).astype("float32") / np.float32(255)
    expected = (chw - mean[:, None, None]) / std[:, None, None]
    got = np.concatenate([keras.ops.convert_to_numpy(xb) for xb, _ in batches])
    np.testing.assert_array_equal(got, expected)
    assert [int(v) for _, yb in batches for v in keras.ops.convert_to_numpy(yb)] == labels


@needs_torchvision
@pytest.mark.parametrize("hundred", [False, True])
def test_cifar_batches_match_torchvision(tmp_path, hundred):
    fake_cifar(tmp_path, hundred)
    source = CIFAR_SCRIPT.format(train=True)
    original_class = torchvision.datasets.CIFAR100 if hundred else torchvision.datasets.CIFAR10

    class Unchecked(original_class):  # the synthetic files have other checksums than the real ones
        train_list = tuple((name, None) for name, _ in original_class.train_list)
        test_list = tuple((name, None) for name, _ in original_class.test_list)
        meta = MappingProxyType({**original_class.meta, "md5": None})

    original = {"root": str(tmp_path), "Dataset": Unchecked}
    exec(compile(source, "<original>", "exec"), original)
    (b,) = run_translation(source.replace("Dataset(", f"datasets.{original_class.__name__}("), root=str(tmp_path))
    a = original["out"]
    assert_same(a[:-3], b[:-3])
    np.testing.assert_array_equal(a[-3], b[-3])
    assert a[-2:] == b[-2:]


def test_missing_dataset_files_without_download_raise(tmp_path):
    source = "from torchvision import datasets\nds = datasets.{}(root)\n"
    for name in ("MNIST", "CIFAR10"):
        with pytest.raises(RuntimeError, match="download=True"):
            run_translation(source.format(name), names=(), root=str(tmp_path))


TRANSFORMS = """
import torch
from torchvision import transforms as T
out = [T.PILToTensor()(image), T.ToTensor()(image), T.ToTensor()(image[..., 0])]
for t in [
    T.CenterCrop(4), T.CenterCrop((3, 6)), T.CenterCrop(9), T.CenterCrop((10, 12)),
    T.RandomCrop((7, 8)), T.RandomCrop((9, 10), padding=1), T.RandomCrop((8, 10), padding=(0, 1, 2, 0), padding_mode="reflect"),
    T.RandomCrop(9, padding=(1, 2), padding_mode="edge", pad_if_needed=True),
    T.RandomCrop(11, pad_if_needed=True, fill=7, padding_mode="constant"),
    T.RandomCrop((7, 10), padding=[1, 1], padding_mode="symmetric"),
    T.RandomHorizontalFlip(1.0), T.RandomVerticalFlip(p=1), T.RandomHorizontalFlip(p=0.0),
]:
    out.append(T.PILToTensor()(t(image)))
    out.append(t(T.ToTensor()(image)))
"""


def test_transforms_match_torchvision_semantics():
    """Deterministic settings only (crops whose window is the whole padded image, p of 0 or 1);
    checked on an (H, W, C) uint8 image (a PIL image's values) and on its ToTensor form."""
    image = np.random.default_rng(3).integers(0, 256, size=(7, 8, 3)).astype("uint8")
    (out,) = run_translation(TRANSFORMS, image=image)
    chw = image.transpose(2, 0, 1)
    np.testing.assert_array_equal(out[0], chw)
    np.testing.assert_array_equal(out[1], chw.astype("float32") / np.float32(255))
    assert out[2].shape == (1, 7, 8)
    padded = np.pad(chw, [(0, 0), (1, 1), (1, 1)])
    reflected = np.pad(chw, [(0, 0), (1, 0), (0, 2)], mode="reflect")
    edge = np.pad(chw, [(0, 0), (2, 2), (1, 1)], mode="edge")
    expected = [
        chw[:, 2:6, 2:6],  # top = round(1.5) = 2, left = round(2.0) = 2
        chw[:, 2:5, 1:7],  # top = round(2.0) = 2, left = round(1.0) = 1
        np.pad(chw, [(0, 0), (1, 1), (0, 1)]),  # (9 - 7) // 2 above and below, 0 left, 1 right
        np.pad(chw, [(0, 0), (1, 2), (2, 2)]),
        chw,  # the whole image: the only window
        padded,
        reflected,
        edge,
        np.pad(np.pad(chw, [(0, 0), (0, 0), (3, 3)], constant_values=7), [(0, 0), (4, 4), (0, 0)], constant_values=7),
        np.pad(chw, [(0, 0), (1, 1), (1, 1)], mode="symmetric"),
        chw[:, :, ::-1],
        chw[:, ::-1],
        chw,
    ]
    for i, want in enumerate(expected):
        as_image, as_tensor = (keras.ops.convert_to_numpy(v) for v in out[3 + 2 * i : 5 + 2 * i])
        if i in (7, 8, 9):  # a random window of the padded image
            assert as_image.shape == as_tensor.shape == (3, *[(9, 9), (11, 11), (7, 10)][i - 7]), i
            windows = np.lib.stride_tricks.sliding_window_view(want, as_image.shape)
            assert (windows == as_image).all(axis=(-3, -2, -1)).any(), i
            continue
        np.testing.assert_array_equal(as_image, want, err_msg=str(i))
        if i != 8:  # torchvision pads a tensor with fill as a float; the window is the same
            np.testing.assert_allclose(as_tensor, want.astype("float32") / 255, rtol=1e-6, err_msg=str(i))


@needs_torchvision
def test_transforms_match_torchvision():
    """The same transforms under torchvision (on a PIL image and on a tensor); the crops with a
    random window are compared on their shapes."""
    from PIL import Image

    image = np.random.default_rng(3).integers(0, 256, size=(7, 8, 3)).astype("uint8")
    (b,) = run_translation(TRANSFORMS, image=image)

    source = TRANSFORMS.replace("T.ToTensor()(image[..., 0])", "T.ToTensor()(gray)")
    original = {"image": Image.fromarray(image), "gray": Image.fromarray(image[..., 0])}  # PIL images
    exec(compile(source, "<original>", "exec"), original)
    a = original["out"]
    for i, (u, v) in enumerate(zip(a, b)):
        if i in (17, 18, 19, 20, 21, 22):  # random windows
            assert tuple(u.shape) == tuple(v.shape), i
            continue
        assert_same(u, v, f"out[{i}]")


def test_a_datasets_fields_are_not_tensor_attributes(tmp_path):
    """`train.data` is the dataset's images, not Tensor.data; the tensor it holds is translated."""
    images, _ = fake_mnist(tmp_path)["train"]
    source = """
import torch
from torchvision import datasets
train = datasets.MNIST(root, download=True)
loader = torch.utils.data.DataLoader(train, batch_size=2)
out = [loader.dataset.data.float().mean(), train.data.shape[0], train.targets.numpy(), len(loader.dataset)]
"""
    (out,) = run_translation(source, root=str(tmp_path))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out[0]), images.astype("float32").mean(), rtol=1e-6)
    assert out[1] == out[3] == len(images) and out[2].dtype == np.int64


def fake_image_folder(root):
    """Two classes of PNG images (lossless, so every decoder reads the same pixels), a nested
    folder, a file that is no image and a grayscale image (read as RGB)."""
    from PIL import Image

    rng = np.random.default_rng(4)
    for path, mode in [("dog/b.png", "RGB"), ("dog/a.png", "RGB"), ("cat/x/c.png", "L"), ("cat/d.png", "RGB")]:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        shape = (5, 6, 3) if mode == "RGB" else (5, 6)
        Image.fromarray(rng.integers(0, 256, size=shape).astype("uint8"), mode=mode).save(root / path)
    (root / "cat" / "notes.txt").write_text("not an image")


FOLDER_SCRIPT = """
import torch
from torchvision import datasets, transforms
ds = datasets.ImageFolder(root, transform=transforms.Compose([transforms.CenterCrop(4), transforms.ToTensor()]))
out = list(torch.utils.data.DataLoader(ds, batch_size=3)) + [ds.classes, ds.class_to_idx, ds.targets]
out.append([p.replace(root, "") for p, _ in ds.samples])
"""


def test_image_folder_matches_torchvision_semantics(tmp_path):
    pytest.importorskip("PIL")
    from PIL import Image

    fake_image_folder(tmp_path)
    (out,) = run_translation(FOLDER_SCRIPT, root=str(tmp_path))
    batches, (classes, class_to_idx, targets, paths) = out[:-4], out[-4:]
    assert classes == ["cat", "dog"] and class_to_idx == {"cat": 0, "dog": 1} and targets == [0, 0, 1, 1]
    assert paths == ["/cat/d.png", "/cat/x/c.png", "/dog/a.png", "/dog/b.png"]  # sorted walk, per class
    images = [np.asarray(Image.open(tmp_path / p[1:]).convert("RGB")) for p in paths]
    expected = np.stack([im[0:4, 1:5].transpose(2, 0, 1) for im in images]).astype("float32") / np.float32(255)
    got = np.concatenate([keras.ops.convert_to_numpy(xb) for xb, _ in batches])
    np.testing.assert_array_equal(got, expected)


@needs_torchvision
def test_image_folder_matches_torchvision(tmp_path):
    fake_image_folder(tmp_path)
    (a,), (b,) = run_both(FOLDER_SCRIPT, root=str(tmp_path))
    assert_same(a, b)


RESIZE = """
import torch
from torchvision import transforms as T
sizes = [T.Resize(4), T.Resize((5, 9)), T.Resize(4, max_size=6), T.Resize([3], antialias=False)]
out = [(T.PILToTensor()(t(image)), t(T.ToTensor()(image)), t(T.PILToTensor()(image))) for t in sizes]
"""
RESIZED = [(4, 8), (5, 9), (3, 6), (3, 6)]  # of (5, 11): the shorter edge to the size; max_size caps the longer


def test_resize_matches_torchvision_semantics():
    """An image is resized by PIL's bilinear filter (torchvision's PIL path); a tensor as
    torch.nn.functional.interpolate(bilinear, antialias) resizes it (torchvision's tensor path)."""
    Image = pytest.importorskip("PIL.Image")  # the expected values come from PIL (not a dependency)

    image = np.random.default_rng(5).integers(0, 256, size=(5, 11, 3)).astype("uint8")
    (out,) = run_translation(RESIZE, image=image)
    chw = torch.from_numpy(image.transpose(2, 0, 1).copy())
    for (h, w), (from_image, from_float, from_uint8), antialias in zip(RESIZED, out, [True, True, True, False]):
        pil = np.asarray(Image.fromarray(image).resize((w, h), Image.BILINEAR)).transpose(2, 0, 1)
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(from_image), pil)
        want = torch.nn.functional.interpolate(
            chw[None].float() / 255, size=(h, w), mode="bilinear", align_corners=False, antialias=antialias
        )[0]
        np.testing.assert_allclose(keras.ops.convert_to_numpy(from_float), want.numpy(), atol=1e-6)
        assert from_uint8.dtype == "uint8" and tuple(from_uint8.shape) == (3, h, w)
        want = torch.nn.functional.interpolate(
            chw[None].float(), size=(h, w), mode="bilinear", align_corners=False, antialias=antialias
        )[0].round()
        np.testing.assert_allclose(keras.ops.convert_to_numpy(from_uint8), want.numpy(), atol=1)


@needs_torchvision
def test_resize_matches_torchvision():
    from PIL import Image

    image = np.random.default_rng(5).integers(0, 256, size=(5, 11, 3)).astype("uint8")
    original = {"image": Image.fromarray(image)}
    exec(compile(RESIZE, "<original>", "exec"), original)
    (b,) = run_translation(RESIZE, image=image)
    for (a_image, a_float, a_uint8), (b_image, b_float, b_uint8) in zip(original["out"], b):
        assert_same(a_image, b_image)
        np.testing.assert_allclose(a_float.numpy(), keras.ops.convert_to_numpy(b_float), atol=1e-6)
        np.testing.assert_allclose(a_uint8.numpy(), keras.ops.convert_to_numpy(b_uint8), atol=1)


def test_round_trip_gives_the_pytorch_apis_back():
    """PyTorch -> Keras -> PyTorch: the support classes become torch.utils.data's again, and the
    round trip's loop sees the original's batches."""
    source = TENSOR_LOADER.format(bs=4, drop=False) + "sub = torch.utils.data.Subset(ds, [1, 2])\n"
    keras_code = fwtranslate.translate(source, to="tf").code
    back = fwtranslate.translate(keras_code, to="torch")
    assert back.ok, [d.format() for d in back.diagnostics]
    assert "torch.utils.data.DataLoader(" in back.code and "TorchDataLoader" not in back.code
    original = {"x": torch.from_numpy(X), "y": torch.from_numpy(Y)}
    exec(compile(source, "<original>", "exec"), original)
    round_trip = {"x": torch.from_numpy(X), "y": torch.from_numpy(Y)}
    exec(compile(back.code, "<round trip>", "exec"), round_trip)
    assert len(original["out"]) == len(round_trip["out"])
    for a, b in zip(original["out"], round_trip["out"]):
        if isinstance(a, list):
            for u, v in zip(a, b):
                torch.testing.assert_close(u, v, rtol=0, atol=0)
        else:
            assert a == b


FUNCTIONAL = """
import torch
import torchvision.transforms.functional as TF
from torch.utils.data import get_worker_info
t = TF.to_tensor(image)
out = [t, TF.normalize(t, [0.5, 0.4, 0.3], [0.2, 0.3, 0.4]), TF.center_crop(t, 4), get_worker_info() is None]
"""


def test_functional_transforms_and_worker_info():
    """to_tensor / normalize / center_crop compute what their classes compute; in-process loading
    has no worker (get_worker_info() is None, as in PyTorch's main process)."""
    image = np.random.default_rng(6).integers(0, 256, size=(5, 6, 3)).astype("uint8")
    (out,) = run_translation(FUNCTIONAL, image=image)
    chw = image.transpose(2, 0, 1).astype("float32") / np.float32(255)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out[0]), chw)
    mean, std = np.float32([0.5, 0.4, 0.3])[:, None, None], np.float32([0.2, 0.3, 0.4])[:, None, None]
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out[1]), (chw - mean) / std)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out[2]), chw[:, 0:4, 1:5])
    assert out[3] is True


@needs_torchvision
def test_functional_transforms_match_torchvision():
    from PIL import Image

    image = np.random.default_rng(6).integers(0, 256, size=(5, 6, 3)).astype("uint8")
    original = {"image": Image.fromarray(image)}
    exec(compile(FUNCTIONAL, "<original>", "exec"), original)
    (b,) = run_translation(FUNCTIONAL, image=image)
    assert_same(original["out"], b)
