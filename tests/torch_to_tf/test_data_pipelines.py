"""torch.utils.data -> Keras (rules/torch_to_tf/data.yaml, support_data.py): the same script runs
under PyTorch and, translated, under TensorFlow on the same data; the batches its loops see are
compared one by one (structure, dtype, shape, values), with shuffle off. Shuffled and sampled
orders are random in both frameworks, so they are checked for what they must be (permutations,
subsets, weights)."""

from __future__ import annotations

import os
import re

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


def run_both(source: str, names=("out",)):
    """Run ``source`` with torch tensors x, y, and its translation with TensorFlow tensors x, y:
    (original values, translated values) of ``names``."""
    result = fwtranslate.translate(source, to="tf")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert not re.search(r"^\s*(import|from)\s+torch", result.code, re.M), result.code  # TensorFlow only
    original = {"x": torch.from_numpy(X), "y": torch.from_numpy(Y)}
    exec(compile(source, "<original>", "exec"), original)
    translated = {"x": tf.constant(X), "y": tf.constant(Y)}
    exec(compile(result.code, "<translation>", "exec"), translated)
    return [original[n] for n in names], [translated[n] for n in names]


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
