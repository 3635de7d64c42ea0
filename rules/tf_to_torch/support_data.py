"""tf.data in plain PyTorch: TFDataset keeps tf.data's chained interface (`.map(...).batch(...)`),
so a translated pipeline needs no rewrite of its method calls, and yields torch tensors with the
values, dtypes, shapes and order TensorFlow yields (shuffled orders are random in both; the
shuffle buffer is TensorFlow's algorithm, so a small buffer shuffles as locally). It is a
torch.utils.data.IterableDataset: `DataLoader(ds, batch_size=None)` takes it as it is.
"""

import itertools
import math
import os

import numpy as np
import torch


def _tf_to_tensor(value):
    """A value as TensorFlow converts it: NumPy arrays keep their dtype, Python floats become
    float32 and ints int32 (tf.constant's defaults), tensors stay."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(value))
    array = np.asarray(value)
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    elif array.dtype == np.int64:
        array = array.astype(np.int32)
    return torch.from_numpy(array)


def _map_structure(fn, element):
    if isinstance(element, dict):
        return type(element)({key: _map_structure(fn, value) for key, value in element.items()})
    if isinstance(element, tuple):
        mapped = [_map_structure(fn, value) for value in element]
        return type(element)(*mapped) if hasattr(element, "_fields") else tuple(mapped)
    return fn(element)


def _stack_structure(elements):
    first = elements[0]
    if isinstance(first, dict):
        return type(first)({key: _stack_structure([e[key] for e in elements]) for key in first})
    if isinstance(first, tuple):
        stacked = [_stack_structure([e[i] for e in elements]) for i in range(len(first))]
        return type(first)(*stacked) if hasattr(first, "_fields") else tuple(stacked)
    return torch.stack(list(elements))


def _to_structure(value):
    """What a map function returns, as tf.data keeps it: a list becomes a tuple, leaves tensors."""
    if isinstance(value, list):
        value = tuple(value)
    return _map_structure(_tf_to_tensor, value)


class TFDataset(torch.utils.data.IterableDataset):
    """tf.data.Dataset: an iterable of elements (a tensor, or a tuple / dict of them), rebuilt at
    every iteration as tf.data does (a new shuffle order per epoch unless cached)."""

    INFINITE = -1  # tf.data.INFINITE_CARDINALITY
    UNKNOWN = -2  # tf.data.UNKNOWN_CARDINALITY

    def __init__(self, make_iterator, cardinality):
        self._make_iterator = make_iterator
        self._cardinality = cardinality

    @staticmethod
    def from_tensor_slices(tensors):
        """Element i is every component's row i (a list is one tensor, as in tf.data)."""
        components = _map_structure(_tf_to_tensor, tensors)
        leaves = []
        _map_structure(leaves.append, components)
        n = len(leaves[0])
        if any(len(leaf) != n for leaf in leaves):
            raise ValueError("Dimensions of the components do not match")
        return TFDataset(lambda: (_map_structure(lambda t, i=i: t[i], components) for i in range(n)), n)

    @staticmethod
    def from_tensors(tensors):
        element = _map_structure(_tf_to_tensor, tensors)
        return TFDataset(lambda: iter([element]), 1)

    @staticmethod
    def range(*args):
        """tf.data.Dataset.range: int64 scalars."""
        values = range(*args)
        return TFDataset(lambda: (torch.tensor(v, dtype=torch.int64) for v in values), len(values))

    @staticmethod
    def zip(datasets):
        sizes = [d._cardinality for d in (datasets.values() if isinstance(datasets, dict) else datasets)]
        known = [s for s in sizes if s >= 0]
        size = (
            min(known)
            if known
            else (TFDataset.INFINITE if all(s == TFDataset.INFINITE for s in sizes) else TFDataset.UNKNOWN)
        )
        if isinstance(datasets, dict):
            return TFDataset(lambda: (dict(zip(datasets, e)) for e in zip(*datasets.values())), size)
        return TFDataset(lambda: zip(*datasets), size)

    def __iter__(self):
        return iter(self._make_iterator())

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raise NotImplementedError(f"tf.data.Dataset.{name} is not translated to PyTorch (fwtranslate's TFDataset)")

    def __len__(self):
        if self._cardinality == TFDataset.INFINITE:
            raise TypeError("The dataset is infinite.")
        if self._cardinality == TFDataset.UNKNOWN:
            raise TypeError("The dataset length is unknown.")
        return self._cardinality

    def cardinality(self):
        return torch.tensor(self._cardinality, dtype=torch.int64)

    def as_numpy_iterator(self):
        return (_map_structure(lambda t: t.numpy(), e) for e in self)

    def batch(self, batch_size, drop_remainder=False, num_parallel_calls=None, deterministic=None, name=None):
        """Consecutive elements stacked on a new first axis; the structure (tuple, dict) kept."""

        def batches():
            group = []
            for element in self:
                group.append(element)
                if len(group) == batch_size:
                    yield _stack_structure(group)
                    group = []
            if group and not drop_remainder:
                yield _stack_structure(group)

        size = self._cardinality
        if size >= 0:
            size = size // batch_size if drop_remainder else math.ceil(size / batch_size)
        return TFDataset(batches, size)

    def unbatch(self, name=None):
        def rows():
            for element in self:
                leaves = []
                _map_structure(leaves.append, element)
                for i in range(len(leaves[0])):
                    yield _map_structure(lambda t, i=i: t[i], element)

        return TFDataset(rows, TFDataset.UNKNOWN if self._cardinality != TFDataset.INFINITE else TFDataset.INFINITE)

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        """map_func(*element) for a tuple element (tf.data unpacks it), map_func(element) otherwise."""

        def mapped():
            for element in self:
                out = map_func(*element) if isinstance(element, tuple) else map_func(element)
                yield _to_structure(out)

        return TFDataset(mapped, self._cardinality)

    def filter(self, predicate, name=None):
        def kept():
            for element in self:
                if bool(predicate(*element) if isinstance(element, tuple) else predicate(element)):
                    yield element

        return TFDataset(kept, TFDataset.INFINITE if self._cardinality == TFDataset.INFINITE else TFDataset.UNKNOWN)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=None, name=None):
        """TensorFlow's buffer shuffle: the buffer holds the next buffer_size elements; each step
        yields a uniformly chosen one and puts the next element in its place (torch's generator,
        so the order is random in both, shuffled the same way). reshuffle_each_iteration=False
        repeats the first order."""
        if buffer_size == -1:  # tf.data.AUTOTUNE is not a valid buffer size
            raise ValueError("buffer_size must be greater than zero.")
        fixed = None if reshuffle_each_iteration in (None, True) else torch.seed() % (2**63)

        def shuffled():
            generator = None
            if fixed is not None:
                generator = torch.Generator().manual_seed(fixed)
            buffer = []
            for element in self:
                if len(buffer) < buffer_size:
                    buffer.append(element)
                    continue
                i = int(torch.randint(len(buffer), (1,), generator=generator))
                yield buffer[i]
                buffer[i] = element
            while buffer:
                i = int(torch.randint(len(buffer), (1,), generator=generator))
                buffer[i], buffer[-1] = buffer[-1], buffer[i]
                yield buffer.pop()

        return TFDataset(shuffled, self._cardinality)

    def repeat(self, count=None, name=None):
        def repeated():
            n = 0
            while count is None or count < 0 or n < count:
                yield from self
                n += 1

        size = self._cardinality
        if count is None or count < 0:
            size = TFDataset.INFINITE if size != 0 else 0
        elif size >= 0:
            size = size * count
        return TFDataset(repeated, size)

    def take(self, count, name=None):
        def taken():
            for i, element in enumerate(self):
                if count >= 0 and i >= count:
                    return
                yield element

        size = self._cardinality
        if count >= 0:
            size = count if size == TFDataset.INFINITE else (min(size, count) if size >= 0 else TFDataset.UNKNOWN)
        return TFDataset(taken, size)

    def skip(self, count, name=None):
        def rest():
            for i, element in enumerate(self):
                if count < 0 or i < count:
                    continue
                yield element

        size = self._cardinality
        if size >= 0:
            size = 0 if count < 0 else max(0, size - count)
        return TFDataset(rest, size)

    def prefetch(self, buffer_size, name=None):
        """Overlaps loading with training in TensorFlow; the elements are the same."""
        return self

    def cache(self, filename="", name=None):
        """The elements of the first complete pass, kept in memory (a random map before it is
        not redrawn, as in TensorFlow); a filename is not written."""
        stored = []
        complete = []

        def cached():
            if complete:
                yield from stored
                return
            stored.clear()
            for element in self:
                stored.append(element)
                yield element
            complete.append(True)

        return TFDataset(cached, self._cardinality)


def keras_timeseries_dataset(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """keras.utils.timeseries_dataset_from_array: windows data[p : p + sequence_length * sampling_rate
    : sampling_rate] for start positions p = 0, sequence_stride, ... (relative to start_index), each
    with targets[p]; batched. shuffle=True permutes the positions with NumPy's RandomState(seed), as
    Keras does (the same order for the same seed), then buffer-shuffles each batch window."""
    start = 0 if start_index is None else start_index
    end = len(data) if end_index is None else end_index
    if sampling_rate <= 0 or sequence_stride <= 0:
        raise ValueError("`sampling_rate` and `sequence_stride` must be higher than 0.")
    num_seqs = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num_seqs = min(num_seqs, len(targets))
    positions = np.arange(0, num_seqs, sequence_stride)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(positions)
    steps = _tf_to_tensor(data[start:end])
    span = sequence_length * sampling_rate
    windows = [steps[p : p + span : sampling_rate] for p in positions.tolist()]
    if targets is not None:
        values = _tf_to_tensor(targets[start:end])
        elements = [(w, values[p]) for w, p in zip(windows, positions.tolist())]
    else:
        elements = windows
    dataset = TFDataset(lambda: iter(elements), len(elements))
    if batch_size is not None:
        if shuffle:
            dataset = dataset.shuffle(buffer_size=batch_size * 8)
        return dataset.batch(batch_size)
    return dataset.shuffle(buffer_size=1024) if shuffle else dataset


class KerasPyDataset(torch.utils.data.Dataset):
    """keras.utils.PyDataset: a map-style dataset of batches (`__getitem__(i)` is batch i,
    `__len__` or `num_batches` their number). Iterating it yields batches 0, 1, ... as Keras does;
    loading is in-process, so workers / use_multiprocessing / max_queue_size are only kept."""

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self.workers = workers
        self.use_multiprocessing = use_multiprocessing
        self.max_queue_size = max_queue_size

    def __getitem__(self, index):
        raise NotImplementedError

    def __iter__(self):
        try:
            count = self.num_batches
        except NotImplementedError:
            count = None
        for index in range(count) if count is not None else itertools.count():  # endless without a length
            yield self[index]

    @property
    def num_batches(self):
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError("You need to implement the `num_batches` property")

    def on_epoch_begin(self):
        pass

    def on_epoch_end(self):
        pass


_IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # Keras' ALLOWLIST_FORMATS


def _index_images(directory, class_names, follow_links, inferred=True):
    """Keras' index_directory: the classes are the sorted subfolders (or class_names, in its
    order), each walked with sorted folders and sorted files; labels are the class's index.
    Without labels the whole folder is walked and there are no class names."""
    subdirs = sorted(d for d in os.listdir(directory) if os.path.isdir(os.path.join(directory, d)))
    subdirs = [d for d in subdirs if not d.startswith(".")] if inferred else [""]
    if class_names is not None:
        if not set(class_names) <= set(subdirs):
            raise ValueError(f"The class_names passed did not match the subdirectories: {subdirs}")
        subdirs = list(class_names)
    paths, labels = [], []
    for index, subdir in enumerate(subdirs):
        walk = sorted(os.walk(os.path.join(directory, subdir), followlinks=follow_links), key=lambda w: w[0])
        for root, _, files in walk:
            for name in sorted(files):
                if name.lower().endswith(_IMAGE_FORMATS):
                    paths.append(os.path.join(root, name))
                    labels.append(index)
    return paths, np.array(labels, dtype=np.int32), subdirs if inferred else None


def _decode_png(data):
    """An 8-bit, non-interlaced PNG as a (H, W, C) uint8 array: the decoder used when neither
    torchvision nor PIL is installed."""
    import struct
    import zlib

    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise NotImplementedError("decoding this image needs torchvision or PIL (pip install torchvision)")
    at, idat, header = 8, b"", None
    while at < len(data):
        (length,), kind = struct.unpack(">I", data[at : at + 4]), data[at + 4 : at + 8]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data[at + 8 : at + 21])
        elif kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    width, height, depth, color, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise NotImplementedError("decoding this PNG needs torchvision or PIL (pip install torchvision)")
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), np.int32)
    previous = np.zeros(width * channels, np.int32)
    for y in range(height):
        kind, row = raw[y, 0], raw[y, 1:].astype(np.int32)
        if kind in (0, 2):
            line = row + (previous if kind == 2 else 0)
        else:  # Sub, Average, Paeth read the pixel to the left: one byte at a time
            line = np.zeros_like(row)
            for i in range(len(row)):
                left = line[i - channels] if i >= channels else 0
                up, corner = previous[i], (previous[i - channels] if i >= channels else 0)
                if kind == 1:
                    guess = left
                elif kind == 3:
                    guess = (left + up) // 2
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    guess = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (row[i] + guess) & 255
        out[y] = line & 255
        previous = out[y]
    return out.astype(np.uint8).reshape(height, width, channels)


def _load_image(path, channels):
    """tf.image.decode_image(..., channels): a (H, W, channels) uint8 tensor."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        import torchvision.io

        modes = {1: torchvision.io.ImageReadMode.GRAY, 3: torchvision.io.ImageReadMode.RGB}
        modes[4] = torchvision.io.ImageReadMode.RGB_ALPHA
        return torchvision.io.decode_image(
            torch.frombuffer(bytearray(data), dtype=torch.uint8), modes[channels]
        ).permute(1, 2, 0)
    except ImportError:
        pass
    try:
        import io

        from PIL import Image

        mode = {1: "L", 3: "RGB", 4: "RGBA"}[channels]
        return torch.from_numpy(np.array(Image.open(io.BytesIO(data)).convert(mode)))
    except ImportError:
        pass
    image = _decode_png(data)
    have = image.shape[-1]
    if have == channels:
        return torch.from_numpy(image)
    if have in (1, 2) and channels in (3, 4):  # gray (+ alpha) -> RGB(A), as libpng expands it
        gray = np.repeat(image[..., :1], 3, axis=-1)
        alpha = image[..., 1:] if have == 2 else np.full_like(image[..., :1], 255)
        return torch.from_numpy(gray if channels == 3 else np.concatenate([gray, alpha], -1))
    if have == 4 and channels == 3:
        return torch.from_numpy(np.ascontiguousarray(image[..., :3]))
    raise NotImplementedError("converting this PNG's colors needs torchvision or PIL (pip install torchvision)")


def keras_image_dataset(
    directory,
    labels="inferred",
    label_mode="int",
    class_names=None,
    color_mode="rgb",
    batch_size=32,
    image_size=(256, 256),
    shuffle=True,
    seed=None,
    interpolation="bilinear",
    follow_links=False,
):
    """keras.utils.image_dataset_from_directory: (image, label) batches of the images in the
    class subfolders, float32 (height, width, channels) in [0, 255] (uint8 for nearest), resized as tf.image.resize
    does (bilinear or nearest, half-pixel centers, no antialiasing); labels int32, one-hot float32
    ("categorical") or (1,) float32 ("binary"). shuffle=True permutes the files with NumPy's
    RandomState(seed) as Keras does, then buffer-shuffles. The dataset's class_names and
    file_paths are Keras'."""
    channels = {"rgb": 3, "rgba": 4, "grayscale": 1}[color_mode]
    size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
    if labels is None or label_mode is None:
        labels = label_mode = None
    paths, classes, names = _index_images(directory, class_names, follow_links, labels is not None)
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        np.random.RandomState(seed).shuffle(classes)
    if label_mode == "binary" and len(names or ()) != 2:
        raise ValueError(f'When passing label_mode="binary", there must be exactly 2 class_names: {names}')
    mode = {"bilinear": "bilinear", "nearest": "nearest-exact"}[interpolation]

    def image(path):
        pixels = _load_image(path, channels).permute(2, 0, 1)[None].float()
        kwargs = {"align_corners": False} if mode == "bilinear" else {}
        resized = torch.nn.functional.interpolate(pixels, size=size, mode=mode, **kwargs)[0].permute(1, 2, 0)
        return resized if mode == "bilinear" else resized.to(torch.uint8)  # tf.image.resize keeps nearest's dtype

    def label(index):
        if label_mode == "categorical":
            return torch.nn.functional.one_hot(torch.tensor(int(index)), len(names)).float()
        if label_mode == "binary":
            return torch.tensor([float(index)])
        return torch.tensor(int(index), dtype=torch.int32)

    if labels is None or label_mode is None:
        dataset = TFDataset(lambda: (image(p) for p in paths), len(paths))
    else:
        dataset = TFDataset(lambda: ((image(p), label(c)) for p, c in zip(paths, classes)), len(paths))
    if shuffle:
        dataset = dataset.shuffle(buffer_size=batch_size * 8 if batch_size is not None else 1024, seed=seed)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset.class_names, dataset.file_paths = names, paths
    return dataset
