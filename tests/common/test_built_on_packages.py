"""Packages built on the source framework (keras-hub, timm...) count as that framework: a name of
theirs left in the output is reported and marked, and the exit is not 0 (it was silent)."""

from __future__ import annotations

import pytest

from fwtranslate import translate

CASES = {
    "keras-hub base class": (
        "torch",
        "import keras\nfrom keras_hub.models import Backbone\n\n\nclass B(Backbone):\n    pass\n",
        "keras_hub.models.Backbone",
    ),
    "timm layer": (
        "tf",
        "import torch\nfrom timm.layers import ClassifierHead\n\nlayer = ClassifierHead(8, 2)\n",
        "timm.layers.ClassifierHead",
    ),
    "tensorflow_addons op": (
        "torch",
        "import tensorflow as tf\nimport tensorflow_addons as tfa\n\ny = tfa.activations.mish(tf.zeros(2))\n",
        "tensorflow_addons.activations.mish",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_name_of_a_package_built_on_the_source_is_reported(case):
    to, source, name = CASES[case]
    result = translate(source, to=to)
    errors = [d for d in result.diagnostics if d.severity == "error" and name in d.message]
    assert errors, [str(d) for d in result.diagnostics]
    assert "# fwtranslate: unconverted" in result.code
