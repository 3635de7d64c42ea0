"""``model.fit(dataset)``: which arguments are tf.data pipelines the file builds, and the loops'
statements that go over one.

A pipeline's translation (rules/tf_to_torch/data.yaml) is a ``TFDataset`` with tf.data's methods,
which yields batches of torch tensors in TensorFlow's order; so the loops take its batches as
they come, as Keras does (no shuffling of their own: Keras ignores ``shuffle=`` for a dataset,
the pipeline's own ``.shuffle()`` reshuffles each epoch), each ``(x, y)`` through
``as_model_input`` (Keras casts floating data to the model's float32). The loss and the metrics
are means over the samples seen, a batch's mean weighted by its size, as Keras' trackers are.
"""

from __future__ import annotations

from collections.abc import Callable

import libcst as cst

from ...cstutil import code

# what builds a pipeline, and the methods that keep one finite and made of (x, y) batches;
# `.repeat()` (an endless dataset, which needs steps_per_epoch) is not among them
SOURCES = frozenset(
    {
        "tf.data.Dataset.from_tensor_slices",
        "tf.data.Dataset.from_tensors",
        "tf.data.Dataset.zip",
        "keras.utils.timeseries_dataset_from_array",
        "keras.preprocessing.timeseries_dataset_from_array",
        "keras.utils.image_dataset_from_directory",
        "keras.preprocessing.image_dataset_from_directory",
    }
)
METHODS = frozenset({"batch", "map", "shuffle", "prefetch", "cache", "take", "skip", "filter", "unbatch"})


class Datasets:
    """Is an expression a tf.data pipeline of the file: a chain of ``METHODS`` on one of
    ``SOURCES``, a name every assignment of which is one, or a call of a file function every
    return of which is one (`train_ds = make_dataset(x, y, 32)`)."""

    def __init__(
        self,
        assigned: dict[str, list[cst.BaseExpression | None]],
        resolve: Callable[[cst.BaseExpression], str | None],
        returns: dict[str, list[cst.BaseExpression]] | None = None,
    ):
        self.assigned = assigned
        self.resolve = resolve
        self.returns = returns or {}

    def holds(self, value: cst.BaseExpression, seen: frozenset[str] = frozenset()) -> bool:
        if isinstance(value, cst.Name):
            if value.value in seen:  # `ds = ds.batch(4)`: the name's other assignments decide
                return True
            values = self.assigned.get(value.value)
            if not values:
                return False
            return all(v is not None and self.holds(v, seen | {value.value}) for v in values)
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Name) and func.value in self.returns and self.resolve(func) is None:
            key = f"{func.value}()"  # a function of the file: what it returns decides
            if key in seen:
                return False
            returned = self.returns[func.value]
            return bool(returned) and all(self.holds(r, seen | {key}) for r in returned)
        if isinstance(func, cst.Attribute) and func.attr.value in METHODS and self.resolve(func) is None:
            return self.holds(func.value, seen)
        return self.resolve(func) in SOURCES


def fit_batches(data: str, x: str, y: str, indent: str) -> list[str]:
    """The head of a loop over a pipeline's (x, y) batches, as the model and the loss take them."""
    return [
        f"{indent}for {x}, {y} in {data}:  # the dataset's batches, in its order",
        f"{indent}    {x}, {y} = as_model_input({x}), as_model_input({y})",
    ]


def predict_value(model: str, data: str, batch: str) -> str:
    """``predict(dataset)``: the outputs of its batches' inputs (an (x, y) element's x), joined."""
    inputs = f"{batch}[0] if isinstance({batch}, tuple) else {batch}"
    return f"torch.cat([{model}(as_model_input({inputs})) for {batch} in {data}]).numpy()"


def is_pipeline_argument(args: dict[str, cst.BaseExpression], datasets: Datasets) -> bool:
    """``fit(ds)`` / ``evaluate(ds)`` / ``predict(ds)``: x is a pipeline and no y is given."""
    return "x" in args and "y" not in args and datasets.holds(args["x"])


def validation_pipeline(data: cst.BaseExpression | None, datasets: Datasets) -> bool:
    return data is not None and code(data) != "None" and datasets.holds(data)
