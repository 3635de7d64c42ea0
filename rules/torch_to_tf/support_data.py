"""torch.utils.data in plain TensorFlow/Keras: map-style datasets and a DataLoader that yields the
batches PyTorch's DataLoader yields (same order without shuffling, same values, dtypes and shapes;
torch's default collate: tensors stacked, Python ints int64, floats float64, a tuple sample a list).

tf.data has no random access, no `len` of a map-style object and no `.dataset` / `.tensors`, which
training scripts use (`len(loader.dataset)`, `ds[i]`), so these are small classes rather than a
tf.data chain. TorchDataLoader is a keras.utils.PyDataset: `model.fit(loader)` accepts it.
"""

import collections.abc
import copy
import math
import os

import keras
import numpy as np
import tensorflow as tf


class TorchDataset:
    """torch.utils.data.Dataset: the base of map-style datasets (`__getitem__`, usually `__len__`).
    `for s in ds` reads ds[0], ds[1], ... until an index is out of range, as Python's sequence
    protocol does for torch; TensorFlow's out-of-range index raises InvalidArgumentError, not the
    IndexError that ends the loop, so that error ends it too."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __iter__(self):
        index = 0
        while True:
            try:
                item = self[index]
            except IndexError:
                return
            except tf.errors.InvalidArgumentError as error:
                if "out of bounds" not in str(error):
                    raise
                return
            yield item
            index += 1

    def __add__(self, other):
        return TorchConcatDataset([self, other])


class TorchIterableDataset(TorchDataset):
    """torch.utils.data.IterableDataset: a dataset that is a stream (`__iter__`); the DataLoader
    batches consecutive samples."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")


class TorchTensorDataset(TorchDataset):
    """torch.utils.data.TensorDataset(*tensors): sample i is the tuple of every tensor's row i."""

    def __init__(self, *tensors):
        if any(_num_rows(t) != _num_rows(tensors[0]) for t in tensors):
            raise ValueError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return _num_rows(self.tensors[0])


class TorchSubset(TorchDataset):
    """torch.utils.data.Subset(dataset, indices): the samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class TorchConcatDataset(TorchDataset):
    """torch.utils.data.ConcatDataset(datasets): the datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self):
        return int(self.cumulative_sizes[-1]) if self.cumulative_sizes else 0

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index = len(self) + index
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if which == 0 else int(self.cumulative_sizes[which - 1])
        return self.datasets[which][index - start]


def torch_random_split(dataset, lengths):
    """torch.utils.data.random_split(dataset, lengths): disjoint random Subsets of the given lengths
    (or fractions, the remainder spread one by one as torch does). The permutation is NumPy's, so
    which samples land where differs from torch's (random in both)."""
    n = len(dataset)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = np.random.permutation(n).tolist()
    offsets = np.cumsum(lengths).tolist()
    return [TorchSubset(dataset, order[end - size : end]) for end, size in zip(offsets, lengths)]


class TorchSampler:
    """torch.utils.data.Sampler: the base of index samplers (`__iter__` over dataset indices)."""

    def __init__(self, data_source=None):
        pass


class TorchSequentialSampler(TorchSampler):
    """torch.utils.data.SequentialSampler(data_source): 0, 1, ..., len - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class TorchRandomSampler(TorchSampler):
    """torch.utils.data.RandomSampler(data_source, replacement, num_samples): a NumPy permutation
    (or draws with replacement) at every iteration; random in both, so the order cannot match."""

    def __init__(self, data_source, replacement=False, num_samples=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        n = len(self.data_source)
        if self.replacement:
            return iter(np.random.randint(0, n, size=self.num_samples).tolist())
        whole, rest = divmod(self.num_samples, n)  # num_samples over len: whole permutations, then part of one
        order = [i for _ in range(whole) for i in np.random.permutation(n).tolist()]
        return iter(order + np.random.permutation(n).tolist()[:rest])

    def __len__(self):
        return self.num_samples


class TorchSubsetRandomSampler(TorchSampler):
    """torch.utils.data.SubsetRandomSampler(indices): the given indices in a new random order each time."""

    def __init__(self, indices):
        self.indices = indices

    def __iter__(self):
        return iter([self.indices[i] for i in np.random.permutation(len(self.indices)).tolist()])

    def __len__(self):
        return len(self.indices)


class TorchWeightedRandomSampler(TorchSampler):
    """torch.utils.data.WeightedRandomSampler(weights, num_samples, replacement): index i drawn with
    probability weights[i] / sum(weights) (NumPy's draw; torch.multinomial's differs, random in both)."""

    def __init__(self, weights, num_samples, replacement=True):
        self.weights = np.asarray(keras.ops.convert_to_numpy(weights), dtype="float64")
        self.num_samples = num_samples
        self.replacement = replacement

    def __iter__(self):
        p = self.weights / self.weights.sum()
        return iter(np.random.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self):
        return self.num_samples


class TorchBatchSampler(TorchSampler):
    """torch.utils.data.BatchSampler(sampler, batch_size, drop_last): the sampler's indices in lists."""

    def __init__(self, sampler, batch_size, drop_last):
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


def _num_rows(tensor):
    return int(tensor.shape[0])


def torch_default_collate(batch):
    """torch.utils.data.default_collate: a list of samples -> one batch, structure kept."""
    elem = batch[0]
    if keras.ops.is_tensor(elem) or isinstance(elem, tf.Variable):
        return tf.stack([tf.convert_to_tensor(b) for b in batch], 0)
    if isinstance(elem, np.ndarray) and elem.dtype.kind not in "SaUO":
        return tf.convert_to_tensor(np.stack(batch, 0))
    if isinstance(elem, (np.bool_, np.number)):
        return tf.convert_to_tensor(np.asarray(batch))
    if isinstance(elem, float):
        return tf.constant(batch, dtype="float64")
    if isinstance(elem, bool):
        return tf.constant(batch, dtype="bool")
    if isinstance(elem, int):
        return tf.constant(batch, dtype="int64")
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: torch_default_collate([d[key] for d in batch]) for key in elem}
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(collated)
            return clone
        return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # a namedtuple keeps its type
        return type(elem)(*(torch_default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(b) != len(elem) for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [torch_default_collate(list(s)) for s in zip(*batch)]  # a tuple sample gives a list, as in torch
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {type(elem)}"
    )


def torch_default_convert(data):
    """torch.utils.data.default_convert (batch_size=None): NumPy arrays become tensors, the rest stays."""
    if isinstance(data, np.ndarray) and data.dtype.kind not in "SaUO":
        return tf.convert_to_tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return tf.convert_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return type(data)({key: torch_default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(torch_default_convert(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(torch_default_convert(d) for d in data)
    return data


class TorchDataLoader(keras.utils.PyDataset):
    """torch.utils.data.DataLoader(dataset, batch_size, shuffle, drop_last, collate_fn, sampler):
    `for batch in loader` yields torch's batches, `len(loader)` is the number of batches and
    `loader.dataset` / `loader.batch_size` are kept. shuffle=True draws a new NumPy permutation at
    every iteration (torch draws its own, so the shuffled order cannot match). A PyDataset, so Keras'
    fit / evaluate / predict take it too (batch i of the current epoch; reshuffled at each epoch's end).
    """

    def __init__(
        self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, drop_last=False, collate_fn=None
    ):
        super().__init__()
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
        self.batch_sampler = batch_sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.shuffle = bool(shuffle)
        self._iterable = isinstance(dataset, TorchIterableDataset) or not hasattr(dataset, "__getitem__")
        if self._iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle and sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        self.collate_fn = collate_fn or (torch_default_collate if batch_size is not None else torch_default_convert)
        self._order = None

    def _indices(self):
        if self.batch_sampler is not None:
            return []
        if self.sampler is not None:
            return list(self.sampler)
        if self.shuffle:
            return np.random.permutation(len(self.dataset)).tolist()
        return list(range(len(self.dataset)))

    def _batches_of(self, indices):
        if self.batch_sampler is not None:
            return [list(batch) for batch in self.batch_sampler]
        if self.batch_size is None:
            return [[i] for i in indices]
        size = self.batch_size
        batches = [indices[i : i + size] for i in range(0, len(indices), size)]
        if self.drop_last and batches and len(batches[-1]) < size:
            batches.pop()
        return batches

    def _fetch(self, batch):
        if self.batch_size is None:
            return self.collate_fn(self.dataset[batch[0]])
        if isinstance(self.dataset, TorchTensorDataset) and self.collate_fn is torch_default_collate:
            return [tf.gather(t, batch) for t in self.dataset.tensors]  # the stacked rows, in one gather
        return self.collate_fn([self.dataset[i] for i in batch])

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        if self._iterable:
            yield from self._iter_stream()
            return
        for batch in self._batches_of(self._indices()):
            yield self._fetch(batch)

    def _iter_stream(self):
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __getitem__(self, index):
        if self._iterable:
            raise TypeError("an IterableDataset's DataLoader has no random access")
        if self._order is None:
            self._order = self._batches_of(self._indices())
        if not 0 <= index < len(self._order):
            raise IndexError(index)
        return self._fetch(self._order[index])

    def on_epoch_end(self):
        self._order = None


# torchvision datasets and transforms. A PIL image of the original is a uint8 NumPy array here,
# (H, W) for mode "L" and (H, W, C) for RGB: Keras needs no PIL, and ToTensor reads both the same.


class TorchVisionMNIST(TorchDataset):
    """torchvision.datasets.MNIST(root, train, transform, target_transform, download): sample i is
    (transform(image), target_transform(int label)). It reads the files the original reads
    (root/MNIST/raw/*-idx?-ubyte); when they are missing and download=True, the same images, in the
    same order, from keras.datasets.mnist (Keras' cache, ~/.keras/datasets)."""

    folder = "MNIST"
    keras_dataset = "mnist"
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four"]
    classes += ["5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        prefix = "train" if train else "t10k"
        raw = os.path.join(self.root, self.folder, "raw")
        images = os.path.join(raw, f"{prefix}-images-idx3-ubyte")
        labels = os.path.join(raw, f"{prefix}-labels-idx1-ubyte")
        if os.path.exists(images) and os.path.exists(labels):
            self._images, self._labels = _read_idx(images), _read_idx(labels).astype("int64")
        elif download:
            train_split, test_split = getattr(keras.datasets, self.keras_dataset).load_data()
            self._images, self._labels = train_split if train else test_split
            self._labels = self._labels.astype("int64")
        else:
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data = tf.constant(self._images)  # torch: a uint8 tensor (N, 28, 28) and int64 targets
        self.targets = tf.constant(self._labels)

    def __getitem__(self, index):
        image, target = self._images[index], int(self._labels[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self._images)


class TorchVisionFashionMNIST(TorchVisionMNIST):
    """torchvision.datasets.FashionMNIST: MNIST's format under root/FashionMNIST/raw, else
    keras.datasets.fashion_mnist."""

    folder = "FashionMNIST"
    keras_dataset = "fashion_mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _read_idx(path):
    """An IDX file (MNIST's format): a big-endian header (0, 0, type, rank), the sizes, the data."""
    with open(path, "rb") as f:
        raw = f.read()
    kinds = {8: ">u1", 9: ">i1", 11: ">i2", 12: ">i4", 13: ">f4", 14: ">f8"}
    rank = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, ">i4", count=rank, offset=4))
    data = np.frombuffer(raw, kinds[raw[2]], offset=4 + 4 * rank)
    return data.astype(data.dtype.newbyteorder("=")).reshape(shape)


class TorchVisionCIFAR10(TorchDataset):
    """torchvision.datasets.CIFAR10(root, train, transform, target_transform, download): images
    (N, 32, 32, 3) uint8 in `data`, labels a list in `targets`, read from the pickled batches the
    original reads (root/cifar-10-batches-py); when they are missing and download=True, the same
    data from keras.datasets.cifar10 (its channels-first arrays moved to height, width, channels)."""

    folder = "cifar-10-batches-py"
    keras_dataset = "cifar10"
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    test_files = ["test_batch"]
    label_key = "labels"
    meta = ("batches.meta", "label_names")

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        folder = os.path.join(self.root, self.folder)
        files = [os.path.join(folder, name) for name in (self.train_files if train else self.test_files)]
        self.classes = None
        if all(os.path.exists(path) for path in files):
            data, self.targets = [], []
            for path in files:
                entry = _unpickle(path)
                data.append(entry["data"])
                self.targets.extend(entry[self.label_key])
            self.data = np.vstack(data).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
            meta = os.path.join(folder, self.meta[0])
            if os.path.exists(meta):
                self.classes = _unpickle(meta)[self.meta[1]]
        elif download:
            train_split, test_split = self._from_keras()
            images, labels = train_split if train else test_split
            if images.shape[1] == 3:  # keras.config.image_data_format() == "channels_first"
                images = images.transpose((0, 2, 3, 1))
            self.data, self.targets = images, [int(v) for v in labels.reshape(-1)]
        else:
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        if self.classes is not None:
            self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _from_keras(self):
        return keras.datasets.cifar10.load_data()

    def __getitem__(self, index):
        image, target = self.data[index], self.targets[index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def __len__(self):
        return len(self.data)


class TorchVisionCIFAR100(TorchVisionCIFAR10):
    """torchvision.datasets.CIFAR100: the fine labels (100 classes), root/cifar-100-python, else
    keras.datasets.cifar100 with label_mode="fine"."""

    folder = "cifar-100-python"
    train_files = ["train"]
    test_files = ["test"]
    label_key = "fine_labels"
    meta = ("meta", "fine_label_names")

    def _from_keras(self):
        return keras.datasets.cifar100.load_data(label_mode="fine")


def _unpickle(path):
    import pickle

    with open(path, "rb") as f:
        return pickle.load(f, encoding="latin1")  # noqa: S301 - the file the original unpickles


def _is_image_array(img):
    """The stand-in of a PIL image: a NumPy array, (H, W) or (H, W, C)."""
    return isinstance(img, np.ndarray)


def _as_image(img):
    """A PIL image (from a custom loader) as its array; arrays and tensors as they are."""
    if hasattr(img, "getbands") and hasattr(img, "__array_interface__"):
        return np.asarray(img)
    return img


class TorchToTensor:
    """torchvision.transforms.ToTensor: an image (H, W[, C]) -> a (C, H, W) tensor; uint8 values
    scaled to float32 in [0, 1], other dtypes kept unscaled (as torchvision does for arrays)."""

    def __call__(self, pic):
        pic = _as_image(pic)
        if not _is_image_array(pic):
            raise TypeError(f"pic should be PIL Image or ndarray. Got {type(pic)}")
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose((2, 0, 1)))
        if chw.dtype == np.uint8:
            return tf.constant(chw.astype(np.float32) / np.float32(255))
        return tf.constant(chw)


class TorchPILToTensor:
    """torchvision.transforms.PILToTensor: an image (H, W[, C]) -> a (C, H, W) tensor, dtype kept."""

    def __call__(self, pic):
        pic = _as_image(pic)
        if not _is_image_array(pic):
            raise TypeError(f"pic should be PIL Image. Got {type(pic)}")
        return tf.constant(np.ascontiguousarray((pic[:, :, None] if pic.ndim == 2 else pic).transpose((2, 0, 1))))


class TorchNormalize:
    """torchvision.transforms.Normalize(mean, std): (x - mean[c]) / std[c] on a float tensor
    (..., C, H, W), in the tensor's dtype."""

    def __init__(self, mean, std, inplace=False):
        self.mean = mean
        self.std = std

    def __call__(self, tensor):
        if not tensor.dtype.is_floating:
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if len(tensor.shape) < 3:
            raise ValueError(f"Expected tensor to be a tensor image of size (..., C, H, W). Got {tensor.shape}.")
        mean = tf.constant(self.mean, dtype=tensor.dtype)
        std = tf.constant(self.std, dtype=tensor.dtype)
        if bool(tf.reduce_any(std == 0)):
            raise ValueError(f"std evaluated to zero after conversion to {tensor.dtype}, leading to division by zero.")
        if len(mean.shape) == 1:
            mean = tf.reshape(mean, (-1, 1, 1))
        if len(std.shape) == 1:
            std = tf.reshape(std, (-1, 1, 1))
        return (tensor - mean) / std


class TorchCompose:
    """torchvision.transforms.Compose(transforms): each transform in turn."""

    def __init__(self, transforms):
        self.transforms = transforms

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img


def _image_size(img):
    """(height, width) of an image array (H, W[, C]) or a tensor (..., H, W)."""
    if _is_image_array(img):
        return img.shape[0], img.shape[1]
    return int(img.shape[-2]), int(img.shape[-1])


def _crop(img, top, left, height, width):
    if _is_image_array(img):
        return img[top : top + height, left : left + width]
    return img[..., top : top + height, left : left + width]


def _pad(img, padding, fill=0, padding_mode="constant"):
    """torchvision.transforms.functional.pad: an int pads every side, (lr, tb) left/right and
    top/bottom, (l, t, r, b) each side; NumPy's modes are torchvision's."""
    if isinstance(padding, int):
        padding = [padding]
    padding = list(padding)
    if len(padding) == 1:
        left = top = right = bottom = padding[0]
    elif len(padding) == 2:
        left = right = padding[0]
        top = bottom = padding[1]
    else:
        left, top, right, bottom = padding
    kwargs = {"constant_values": fill} if padding_mode == "constant" else {}
    if _is_image_array(img):
        pads = [(top, bottom), (left, right)] + [(0, 0)] * (img.ndim - 2)
        return np.pad(img, pads, mode=padding_mode, **kwargs)
    array = keras.ops.convert_to_numpy(img)
    pads = [(0, 0)] * (array.ndim - 2) + [(top, bottom), (left, right)]
    return tf.constant(np.pad(array, pads, mode=padding_mode, **kwargs))


def _pair(size):
    if isinstance(size, int):
        return (size, size)
    if len(size) == 1:
        return (size[0], size[0])
    return tuple(size)


class TorchCenterCrop:
    """torchvision.transforms.CenterCrop(size): the centred (h, w) window (torchvision's rounding),
    zero-padded first where the image is smaller."""

    def __init__(self, size):
        self.size = _pair(size)

    def __call__(self, img):
        img = _as_image(img)
        crop_height, crop_width = self.size
        image_height, image_width = _image_size(img)
        if crop_width > image_width or crop_height > image_height:
            padding_ltrb = [
                (crop_width - image_width) // 2 if crop_width > image_width else 0,
                (crop_height - image_height) // 2 if crop_height > image_height else 0,
                (crop_width - image_width + 1) // 2 if crop_width > image_width else 0,
                (crop_height - image_height + 1) // 2 if crop_height > image_height else 0,
            ]
            img = _pad(img, padding_ltrb, fill=0)
            image_height, image_width = _image_size(img)
            if crop_width == image_width and crop_height == image_height:
                return img
        top = round((image_height - crop_height) / 2.0)
        left = round((image_width - crop_width) / 2.0)
        return _crop(img, top, left, crop_height, crop_width)


class TorchRandomCrop:
    """torchvision.transforms.RandomCrop(size, padding, pad_if_needed, fill, padding_mode): pads,
    then a window at a uniformly random position (NumPy's draw; random in both)."""

    def __init__(self, size, padding=None, pad_if_needed=False, fill=0, padding_mode="constant"):
        self.size = _pair(size)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def __call__(self, img):
        img = _as_image(img)
        if self.padding is not None:
            img = _pad(img, self.padding, self.fill, self.padding_mode)
        height, width = _image_size(img)
        if self.pad_if_needed and width < self.size[1]:
            img = _pad(img, [self.size[1] - width, 0], self.fill, self.padding_mode)
        height, width = _image_size(img)
        if self.pad_if_needed and height < self.size[0]:
            img = _pad(img, [0, self.size[0] - height], self.fill, self.padding_mode)
        height, width = _image_size(img)
        th, tw = self.size
        if height < th or width < tw:
            raise ValueError(f"Required crop size {(th, tw)} is larger than input image size {(height, width)}")
        top = int(np.random.randint(0, height - th + 1))
        left = int(np.random.randint(0, width - tw + 1))
        return _crop(img, top, left, th, tw)


class TorchRandomHorizontalFlip:
    """torchvision.transforms.RandomHorizontalFlip(p): mirrors the width axis with probability p."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        img = _as_image(img)
        if np.random.rand() < self.p:
            return img[:, ::-1] if _is_image_array(img) else tf.reverse(img, axis=[-1])
        return img


class TorchRandomVerticalFlip:
    """torchvision.transforms.RandomVerticalFlip(p): mirrors the height axis with probability p."""

    def __init__(self, p=0.5):
        self.p = p

    def __call__(self, img):
        img = _as_image(img)
        if np.random.rand() < self.p:
            return img[::-1] if _is_image_array(img) else tf.reverse(img, axis=[-2])
        return img


IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def torch_default_loader(path):
    """torchvision's default image loader: the file as RGB (PIL, through keras.utils.load_img),
    as a uint8 (H, W, 3) array."""
    return np.asarray(keras.utils.load_img(path, color_mode="rgb"))


class TorchVisionImageFolder(TorchDataset):
    """torchvision.datasets.ImageFolder(root, transform, target_transform, loader, is_valid_file,
    allow_empty): one class per subfolder (sorted names), the images of each in sorted walk order;
    sample i is (transform(loader(path)), target_transform(class index))."""

    def __init__(
        self,
        root,
        transform=None,
        target_transform=None,
        loader=torch_default_loader,
        is_valid_file=None,
        allow_empty=False,
    ):
        self.root = os.path.expanduser(root) if isinstance(root, str) else root
        self.transform = transform
        self.target_transform = target_transform
        self.loader = loader
        self.classes = sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"Couldn't find any class folder in {self.root}.")
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        if is_valid_file is None:
            is_valid_file = lambda path: path.lower().endswith(IMG_EXTENSIONS)  # noqa: E731
        self.samples = []
        for name in self.classes:
            found = False
            for folder, _, names in sorted(os.walk(os.path.join(self.root, name), followlinks=True)):
                for fname in sorted(names):
                    path = os.path.join(folder, fname)
                    if is_valid_file(path):
                        self.samples.append((path, self.class_to_idx[name]))
                        found = True
            if not found and not allow_empty:
                raise FileNotFoundError(f"Found no valid file for the classes {name}.")
        self.imgs = self.samples
        self.targets = [target for _, target in self.samples]

    def __getitem__(self, index):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self):
        return len(self.samples)


class TorchResize:
    """torchvision.transforms.Resize(size, max_size, antialias) with bilinear interpolation: an int
    size matches the shorter edge (torchvision's rounding down of the longer one). An image array
    is resized by PIL (through keras.utils.array_to_img) as torchvision resizes a PIL image; a
    tensor (..., C, H, W) by tf.image.resize, which is torch's antialiased bilinear interpolation
    (to float rounding; uint8 tensors rounded back)."""

    def __init__(self, size, max_size=None, antialias=True):
        if isinstance(size, (list, tuple)) and len(size) == 1:
            size = size[0]
        if max_size is not None and not isinstance(size, int):
            raise ValueError("max_size should only be passed if size specifies the length of the smaller edge")
        self.size = size
        self.max_size = max_size
        self.antialias = antialias

    def _output_size(self, height, width):
        if not isinstance(self.size, int):
            return tuple(self.size)
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = self.size, int(self.size * long / short)
        if self.max_size is not None and new_long > self.max_size:
            new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_long, new_short) if width <= height else (new_short, new_long)

    def __call__(self, img):
        img = _as_image(img)
        height, width = _image_size(img)
        new_h, new_w = self._output_size(height, width)
        if _is_image_array(img):
            pil = keras.utils.array_to_img(img if img.ndim == 3 else img[:, :, None], scale=False)
            out = np.asarray(pil.resize((new_w, new_h), 2))  # 2: PIL's BILINEAR, torchvision's default
            return out if img.ndim == 3 else out.reshape(new_h, new_w)
        x = tf.convert_to_tensor(img)
        rank = len(x.shape)
        channels_last = tf.transpose(x, [*range(rank - 3), rank - 2, rank - 1, rank - 3])
        out = tf.image.resize(
            tf.cast(channels_last, "float32") if x.dtype == tf.uint8 else channels_last,
            (new_h, new_w),
            method="bilinear",
            antialias=self.antialias,
        )
        if x.dtype == tf.uint8:
            out = tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)
        return tf.transpose(out, [*range(rank - 3), rank - 1, rank - 3, rank - 2])
