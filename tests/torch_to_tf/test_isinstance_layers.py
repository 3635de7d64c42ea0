"""isinstance(m, nn.Conv2d) in a PyTorch init loop must match every Keras convolution the
translation builds: the layout pass writes keras.layers.Conv2D inside a channels-last run, the
rules ChannelsFirstConv2D elsewhere (a subclass). It used to name the support class only, so the
loop silently skipped the converted layers and their custom initialization."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from helpers import translate_and_exec

SOURCE = """\
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(3, 8, 3, padding=1)
        self.side = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.constant_(m.weight, 0.5)

    def forward(self, x):
        return self.bn(self.c(x)).mean((2, 3)) + self.side(x).mean((2, 3))
"""


def test_an_init_loop_reaches_every_translated_convolution():
    namespace, code = translate_and_exec(SOURCE, to="tf")
    model = namespace["Net"]()
    model(np.zeros((1, 3, 8, 8), "float32"))
    kernels = [w for w in model.weights if w.path.endswith("kernel")]
    assert len(kernels) == 2, code
    for kernel in kernels:
        assert np.all(kernel.numpy() == 0.5), (kernel.path, code)
