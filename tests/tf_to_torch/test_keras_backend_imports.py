"""Every spelling of the Keras 2 backend module reaches the keras.backend rules (backend.yaml)."""

from __future__ import annotations

import pytest

from fwtranslate import translate

SPELLINGS = [
    ("from keras import backend as K", "K"),
    ("import keras.backend as K", "K"),
    ("from tensorflow.keras import backend as K", "K"),
    ("import tensorflow as tf", "tf.keras.backend"),
    ("from tf_keras import backend", "backend"),
    ("import tf_keras", "tf_keras.backend"),
]


@pytest.mark.parametrize("spelling,prefix", SPELLINGS)
def test_backend_spellings_translate(spelling, prefix):
    source = f"{spelling}\n\n\ndef f(x):\n    return {prefix}.cast({prefix}.sum(x, axis=-1), 'float32') + {prefix}.epsilon()\n"
    result = translate(source, to="torch")
    assert result.ok, [d.format() for d in result.diagnostics]
    assert "return torch.as_tensor(torch.sum(x, dim=-1), dtype=torch.float32) + 1e-07" in result.code
    assert "keras" not in result.code and "tensorflow" not in result.code


def test_backend_config_setter_other_value_is_reported():
    result = translate("from keras import backend as K\n\nK.set_image_data_format('channels_first')\n", to="torch")
    assert not result.ok
    assert "fwtranslate: unconverted" in result.code
