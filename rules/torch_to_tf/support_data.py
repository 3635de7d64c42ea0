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
