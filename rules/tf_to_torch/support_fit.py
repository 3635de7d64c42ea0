"""Support code for translated ``model.fit`` / ``evaluate`` / ``predict`` loops (Keras -> PyTorch):
the data conversion Keras does on the way in and the accuracy metrics, counted per batch.

The loops themselves are written out in the translation (passes/tf_to_torch/fit_loop.py); only
what depends on the data's dtype or shapes at run time is here.
"""

import torch


def as_model_input(data):
    """NumPy data (or a tensor) as a tensor, floating data as float32: Keras casts floating
    inputs and targets to the model's float32; integer labels and token ids stay integers."""
    tensor = torch.as_tensor(data)
    return tensor.float() if tensor.is_floating_point() else tensor


def _samples_right(matches):
    """The sum over samples of each sample's fraction of right values (Keras' metrics average
    the values of a sample first, then over samples)."""
    matches = matches.float()
    return (matches.reshape(len(matches), -1).mean(-1) if matches.dim() > 1 else matches).sum().item()


def sparse_categorical_correct(y_pred, y_true):
    """How many samples keras.metrics.SparseCategoricalAccuracy counts as right: the argmax of
    the last axis equals the integer label ((N,) or (N, 1) labels)."""
    if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    return _samples_right(y_pred.argmax(-1) == y_true.to(torch.int64))


def categorical_correct(y_pred, y_true):
    """keras.metrics.CategoricalAccuracy: one-hot (or probability) targets, argmax against argmax."""
    return _samples_right(y_pred.argmax(-1) == y_true.argmax(-1))


def binary_correct(y_pred, y_true, threshold=0.5):
    """keras.metrics.BinaryAccuracy: each value right when ``y_pred > threshold`` equals the
    target; the count is per value, divided by the values per sample (Keras' per-sample mean)."""
    if y_true.dim() == y_pred.dim() - 1:
        y_true = y_true.unsqueeze(-1)  # Keras matches the ranks: (N,) targets for (N, 1) outputs
    elif y_pred.dim() == y_true.dim() - 1:
        y_pred = y_pred.unsqueeze(-1)
    return _samples_right((y_pred > threshold).to(y_true.dtype) == y_true)


def accuracy_correct(y_pred, y_true):
    """``metrics=["accuracy"]``: Keras picks the accuracy from the shapes (compile_utils.get_metric):
    binary for one output per sample, sparse categorical for integer labels of lower rank (or a last
    axis of 1), categorical otherwise."""
    if y_pred.shape[-1] == 1:
        return binary_correct(y_pred, y_true)
    if y_true.dim() < y_pred.dim() or y_true.shape[-1] == 1:
        return sparse_categorical_correct(y_pred, y_true)
    return categorical_correct(y_pred, y_true)
