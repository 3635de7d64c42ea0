"""Evaluation loops, PyTorch -> Keras: the accuracy-counting idioms of whole scripts give the
same counts with the real Keras as with torch. The indices of ``torch.max(x, dim)`` /
``min`` / ``sort`` / ``topk`` are int64 as in torch, so comparing them with a script's int64
labels works (TensorFlow refuses int32 == int64)."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import pytest

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import fwtranslate

SCRIPT = """
import torch


def correct(outputs, labels):
    _, predicted = torch.max(outputs, 1)
    by_max = (predicted == labels).sum().item()
    by_min = (torch.min(-outputs, dim=1).indices == labels).sum().item()
    by_sort = (torch.sort(outputs, dim=1, descending=True)[1][:, 0] == labels).sum().item()
    by_topk = (torch.topk(outputs, 1, dim=1).indices[:, 0] == labels).sum().item()
    return by_max, by_min, by_sort, by_topk
"""


def test_indices_compare_with_int64_labels():
    result = fwtranslate.translate(SCRIPT, to="tf")
    assert result.ok, [d.format() for d in result.diagnostics]
    translated: dict = {}
    exec(compile(result.code, "<translation>", "exec"), translated)
    original: dict = {}
    exec(compile(SCRIPT, "<original>", "exec"), original)
    rng = np.random.default_rng(0)
    outputs = rng.standard_normal((32, 10)).astype("float32")
    labels = np.argmax(outputs, 1).astype("int64")
    labels[::3] = (labels[::3] + 1) % 10  # a third wrong: the counts are not all 32
    expected = original["correct"](torch.from_numpy(outputs), torch.from_numpy(labels))
    got = translated["correct"](keras.ops.convert_to_tensor(outputs), keras.ops.convert_to_tensor(labels))
    assert got == expected
    assert expected[0] == 21
