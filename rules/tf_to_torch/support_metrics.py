"""Keras metric objects used by hand (`acc.update_state(y, logits)`, `acc.result()`,
`acc.reset_state()`: custom training loops) as small torch classes with the same interface and
Keras' arithmetic: a weighted running mean in float32, total / count (0 before any update)."""

import torch


class KerasMean:
    """keras.metrics.Mean: the (weighted) mean of every value given since the last reset."""

    def __init__(self, name="mean", dtype=None):
        self.name = name
        self.reset_state()

    def reset_state(self):
        self.total = torch.zeros((), dtype=torch.float32)
        self.count = torch.zeros((), dtype=torch.float32)

    def values(self, values):
        return values  # Mean's update_state takes the values; the accuracies (y_true, y_pred)

    def update_state(self, *args, sample_weight=None):
        values = torch.as_tensor(self.values(*args)).detach().float()
        if sample_weight is None:
            self.total = self.total + values.sum()
            self.count = self.count + values.numel()
        else:
            weight = torch.broadcast_to(torch.as_tensor(sample_weight).detach().float(), values.shape)
            self.total = self.total + (values * weight).sum()
            self.count = self.count + weight.sum()

    def result(self):
        return torch.where(self.count > 0, self.total / torch.clamp(self.count, min=1e-38), 0.0)

    def __call__(self, *args, sample_weight=None):
        self.update_state(*args, sample_weight=sample_weight)
        return self.result()


class KerasSparseCategoricalAccuracy(KerasMean):
    """keras.metrics.SparseCategoricalAccuracy: argmax of the prediction equal to the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(name)

    def values(self, y_true, y_pred):
        y_true, y_pred = torch.as_tensor(y_true), torch.as_tensor(y_pred)
        if y_true.dim() == y_pred.dim() and y_true.shape[-1] == 1:
            y_true = y_true.squeeze(-1)
        return (y_pred.argmax(-1).to(y_true.dtype) == y_true).float()


class KerasCategoricalAccuracy(KerasMean):
    """keras.metrics.CategoricalAccuracy: argmax of the prediction equal to the one-hot label's."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(name)

    def values(self, y_true, y_pred):
        return (torch.as_tensor(y_pred).argmax(-1) == torch.as_tensor(y_true).argmax(-1)).float()


class KerasBinaryAccuracy(KerasMean):
    """keras.metrics.BinaryAccuracy: the prediction above the threshold equal to the label, per
    element, averaged over the last axis."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(name)
        self.threshold = threshold

    def values(self, y_true, y_pred):
        y_pred = (torch.as_tensor(y_pred) > self.threshold).float()
        return (y_pred == torch.as_tensor(y_true).float()).float().mean(-1)
