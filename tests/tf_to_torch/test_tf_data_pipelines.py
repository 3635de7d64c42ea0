"""tf.data -> PyTorch (rules/tf_to_torch/data.yaml, support_data.py): the same pipeline runs under
TensorFlow and, translated, under PyTorch on the same NumPy data; the elements its loops see are
compared one by one (structure, dtype, shape, values), without shuffling. Shuffled orders are
random in both, so they are checked for what they must be (a permutation per epoch, the buffer's
locality)."""

from __future__ import annotations

import os
import re

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")

import fwtranslate

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3)).astype("float32")
Y = RNG.integers(0, 5, size=(10,))  # int64
HEADER = "import numpy as np\nimport tensorflow as tf\nimport keras\n"


def run_both(body: str, names=("out",)):
    """(TensorFlow's values, the translation's values) of ``names`` after running ``body``."""
    source = HEADER + body
    result = fwtranslate.translate(source, to="torch")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    assert not re.search(r"^\s*(import|from)\s+(tensorflow|keras)", result.code, re.M), result.code
    original = {"x": X, "y": Y}
    exec(compile(source, "<original>", "exec"), original)
    translated = {"x": X, "y": Y}
    exec(compile(result.code, "<translation>", "exec"), translated)
    return [original[n] for n in names], [translated[n] for n in names]


def assert_same(a, b, path="out"):
    """A TensorFlow structure equals the translation's torch structure."""
    if tf.is_tensor(a):
        assert isinstance(b, torch.Tensor), f"{path}: {type(b)} is not a tensor"
        a, b = a.numpy(), b.numpy()
        assert a.dtype == b.dtype, f"{path}: dtype {a.dtype} vs {b.dtype}"
        assert a.shape == b.shape, f"{path}: shape {a.shape} vs {b.shape}"
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, f"{path}: {type(b)}"
        np.testing.assert_array_equal(a, b, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), f"{path}: {a.keys()} vs {b}"
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), f"{path}: {type(a)} vs {type(b)}"
        for i, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} vs {b!r}"


@pytest.mark.parametrize("batch", ["batch(4)", "batch(4, drop_remainder=True)", "batch(32)", "batch(1)"])
def test_from_tensor_slices_batch(batch):
    body = f"""
ds = tf.data.Dataset.from_tensor_slices((x, y)).{batch}.prefetch(tf.data.AUTOTUNE)
out = [list(ds), len(ds), int(ds.cardinality())]
for xb, yb in ds:
    out.append((xb.shape[0], yb.shape[0]))
"""
    (a,), (b,) = run_both(body)
    assert_same(a, b)


def test_map_dicts_python_values_and_chains():
    """map unpacks tuple elements; dict elements stay dicts; Python lists and floats become
    tensors as tf.constant makes them (float32, int32); take / skip / repeat / unbatch / filter."""
    body = """
ds = tf.data.Dataset.from_tensor_slices({"a": x, "b": y, "c": [1.5] * 10, "d": list(range(10))})
pairs = tf.data.Dataset.from_tensor_slices((x, y)).map(lambda u, v: (u * 2.0, v + 1), num_parallel_calls=tf.data.AUTOTUNE)
out = [
    list(ds.batch(3)),
    list(pairs.batch(4).cache()),
    list(pairs.skip(7)),
    list(pairs.take(2).repeat(2)),
    list(pairs.batch(3).unbatch().take(4)),
    list(tf.data.Dataset.range(6).filter(lambda i: i % 2 == 0)),
    list(tf.data.Dataset.zip((tf.data.Dataset.range(3), tf.data.Dataset.from_tensor_slices(x))).batch(2)),
    list(tf.data.Dataset.from_tensors(x).repeat(2)),
    [len(pairs.batch(3).repeat(2).skip(1)), len(pairs.take(20)), len(pairs.skip(3).batch(2, drop_remainder=True))],
    [e for e in pairs.batch(5).as_numpy_iterator()],
]
"""
    (a,), (b,) = run_both(body)
    assert_same(a, b)


def test_lengths_that_tensorflow_cannot_tell():
    body = """
out = []
for ds in [tf.data.Dataset.range(5).repeat(), tf.data.Dataset.range(5).filter(lambda i: i > 2)]:
    try:
        len(ds)
    except TypeError as e:
        out.append(str(e))
"""
    (a,), (b,) = run_both(body)
    assert a == b and len(a) == 2


def test_shuffle():
    """A new permutation per epoch (reshuffle_each_iteration); buffer_size=1 keeps the order; a small
    buffer only moves an element ahead by less than the buffer size, as TensorFlow's does."""
    body = """
ds = tf.data.Dataset.range(40).shuffle(40)
epochs = [[int(v) for v in ds] for _ in range(2)]
kept = [int(v) for v in tf.data.Dataset.range(10).shuffle(1)]
local = [int(v) for v in tf.data.Dataset.range(40).shuffle(3)]
fixed = tf.data.Dataset.range(40).shuffle(40, reshuffle_each_iteration=False)
same = [[int(v) for v in fixed] for _ in range(2)]
"""
    names = ("epochs", "kept", "local", "same")
    _, (epochs, kept, local, same) = run_both(body, names)
    assert all(sorted(e) == list(range(40)) for e in epochs) and epochs[0] != epochs[1]
    assert kept == list(range(10))
    assert sorted(local) == list(range(40)) and all(v <= i + 2 for i, v in enumerate(local))
    assert same[0] == same[1] and sorted(same[0]) == list(range(40))


@pytest.mark.parametrize(
    "args",
    [
        "x, y, 3, batch_size=2",
        "x, None, 4, sequence_stride=2, sampling_rate=2, batch_size=None",
        "x, y, 2, start_index=2, end_index=9, batch_size=3",
        "x, y, 3, shuffle=True, seed=7, batch_size=1",  # Keras' own permutation of the windows
    ],
)
def test_timeseries_dataset_from_array(args):
    body = f"out = list(keras.utils.timeseries_dataset_from_array({args}))\n"
    (a,), (b,) = run_both(body)
    if "shuffle" in args:  # the windows come in the seed's order, then a random buffer shuffle
        first = lambda e: float(np.asarray(e[0]).ravel()[0])  # noqa: E731 - each window's first value
        a, b = sorted(a, key=first), sorted(b, key=first)
    assert_same(a, b)


def test_a_method_without_translation_says_so():
    result = fwtranslate.translate(HEADER + "ds = tf.data.Dataset.range(4).padded_batch(2)\n", to="torch")
    with pytest.raises(NotImplementedError, match="padded_batch is not translated"):
        exec(compile(result.code, "<translation>", "exec"), {})


def test_py_dataset_subclass():
    """A keras.utils.PyDataset subclass iterates its batches 0 .. len - 1 in both."""
    body = """
import math

class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = x, y
        self.batch_size = batch_size

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, idx):
        low = idx * self.batch_size
        return self.x[low : low + self.batch_size], self.y[low : low + self.batch_size]

ds = Batches(x, y, 4, workers=2)
out = [list(ds), ds.num_batches, ds.workers, ds[1]]
"""
    (a,), (b,) = run_both(body)
    assert_same(a, b)


def test_round_trip_gives_tf_data_back():
    """Keras -> PyTorch -> Keras: TFDataset becomes tf.data.Dataset again, with TensorFlow's elements."""
    source = HEADER + "ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1).batch(4)\nout = list(ds)\n"
    torch_code = fwtranslate.translate(source, to="torch").code
    back = fwtranslate.translate(torch_code, to="tf")
    assert back.ok, [d.format() for d in back.diagnostics]
    assert "tf.data.Dataset.from_tensor_slices(" in back.code and "class TFDataset" not in back.code
    original, round_trip = {"x": X, "y": Y}, {"x": X, "y": Y}
    exec(compile(source, "<original>", "exec"), original)
    exec(compile(back.code, "<round trip>", "exec"), round_trip)
    assert len(original["out"]) == len(round_trip["out"]) == 3
    for a, b in zip(original["out"], round_trip["out"]):
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u.numpy(), v.numpy())


def _write_images(root):
    """Class folders of PNG files (RGB, grayscale, RGBA; different sizes), written by TensorFlow."""
    rng = np.random.default_rng(2)
    shapes = {"cat": [(5, 7, 3), (6, 4, 1), (9, 9, 3)], "dog": [(4, 4, 4), (7, 5, 3)], "eel": [(3, 8, 1)]}
    for label, images in shapes.items():
        os.makedirs(root / label)
        for i, shape in enumerate(images):
            pixels = rng.integers(0, 256, shape, dtype=np.uint8)
            pixels[: shape[0] // 2] //= 4  # smooth rows too: libpng picks other row filters for them
            tf.io.write_file(str(root / label / f"{i}.png"), tf.io.encode_png(pixels))
    (root / "notes.txt").write_text("not a class")


@pytest.mark.parametrize(
    "args",
    [
        "image_size=(4, 6), batch_size=4, shuffle=False",
        'image_size=(8, 8), batch_size=2, shuffle=False, label_mode="categorical", interpolation="nearest"',
        'image_size=5, batch_size=None, shuffle=False, color_mode="grayscale", label_mode=None',
    ],
)
def test_image_dataset_from_directory_yields_keras_values(args, tmp_path):
    """The files in Keras' order with its labels, decoded and resized to the same float32 values."""
    _write_images(tmp_path)
    if "grayscale" in args:  # Keras' RGB -> gray weights are libpng's: only gray files here
        for path in tmp_path.glob("*/*.png"):
            if tf.io.decode_png(tf.io.read_file(str(path))).shape[-1] != 1:
                path.unlink()
    body = f"""
ds = keras.utils.image_dataset_from_directory(folder, {args})
out = [list(ds), ds.class_names]
"""
    source = HEADER + body
    result = fwtranslate.translate(source, to="torch")
    assert result.ok, "\n".join(d.format() for d in result.diagnostics) + "\n" + result.code
    original = {"folder": str(tmp_path)}
    exec(compile(source, "<original>", "exec"), original)
    translated = {"folder": str(tmp_path)}
    exec(compile(result.code, "<translation>", "exec"), translated)
    want, got = original["out"], translated["out"]
    assert got[1] == want[1] == (None if "label_mode=None" in args else ["cat", "dog", "eel"])
    assert len(got[0]) == len(want[0]) > 1
    for i, (a, b) in enumerate(zip(want[0], got[0])):
        a, b = (a, b) if isinstance(a, tuple) else ((a,), (b,))
        for u, v in zip(a, b):
            assert u.dtype.name == str(v.dtype).removeprefix("torch."), f"element {i}"
            np.testing.assert_allclose(v.numpy(), u.numpy(), rtol=1e-5, atol=1e-3, err_msg=f"element {i}")


def test_image_dataset_shuffled_with_a_seed_takes_keras_file_order(tmp_path):
    _write_images(tmp_path)
    body = """
ds = keras.utils.image_dataset_from_directory(folder, image_size=(4, 4), shuffle=True, seed=3)
out = ds.file_paths
"""
    source = HEADER + body
    result = fwtranslate.translate(source, to="torch")
    original, translated = {"folder": str(tmp_path)}, {"folder": str(tmp_path)}
    exec(compile(source, "<original>", "exec"), original)
    exec(compile(result.code, "<translation>", "exec"), translated)
    assert translated["out"] == original["out"] != sorted(original["out"])
