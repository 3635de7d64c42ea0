"""torchvision is PyTorch code: its names are translated by rules (rules/torch_to_tf/torchvision.yaml)
or reported, never left in an output silently. StochasticDepth's translation is checked against
torchvision's definition (identity in inference; in training whole rows or the whole batch zeroed
with probability p, the rest scaled by 1 / (1 - p))."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import fwtranslate
from helpers import translate_and_exec


def test_torchvision_names_without_a_rule_are_reported():
    result = fwtranslate.translate("from torchvision import transforms\nt = transforms.ColorJitter(0.5)\n", to="tf")
    assert [d.code for d in result.diagnostics] == ["no-rule"]
    assert "# fwtranslate: unconverted [no-rule] torchvision.transforms.ColorJitter" in result.code


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth(mode):
    namespace, _ = translate_and_exec(
        f"import torch\nfrom torchvision.ops import StochasticDepth\nlayer = StochasticDepth(0.25, {mode!r})\n", "tf"
    )
    layer = namespace["layer"]
    x = np.random.default_rng(0).normal(size=(4000, 3, 2)).astype("float32") + 5.0
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x)), x)  # inference: the identity
    y = keras.ops.convert_to_numpy(layer(x, training=True))
    if mode == "row":
        kept = np.all(y != 0, axis=(1, 2))
        np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-6)
        assert np.all(y[~kept] == 0)
        assert abs(kept.mean() - 0.75) < 0.03  # each row survives with probability 1 - p
    else:
        assert np.all(y == 0) or np.allclose(y, x / 0.75, rtol=1e-6)
