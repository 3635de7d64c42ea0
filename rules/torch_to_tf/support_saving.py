"""Saving translated layers whose constructor takes layers, layer classes or functions.

A translated class whose ``__init__`` takes such arguments keeps them in ``self.init_args``; its
``get_config`` returns them through ``serialize_arguments`` and its ``from_config`` rebuilds them
with ``deserialize_arguments``, so ``model.save("m.keras")`` + ``keras.models.load_model`` work.
Keras itself saves layers, registered functions, its own functions and plain values
(``keras.saving.serialize_keras_object``); it cannot save a class (``block=BasicBlock``) nor a
``functools.partial`` (``partial(LayerNorm, eps=1e-6)``): those two are saved here, a class by
the name it was registered under.
"""

import functools

import keras
import tensorflow as tf
from keras.src.backend.common.stateless_scope import in_stateless_scope
from keras.src.backend.common.symbolic_scope import in_symbolic_scope


def serialize_argument(value):
    """One constructor argument as a config value (see the module docstring)."""
    if isinstance(value, (list, tuple)):
        return [serialize_argument(v) for v in value]
    if isinstance(value, type):
        name = keras.saving.get_registered_name(value)
        if keras.saving.get_registered_object(name) is not value:
            raise TypeError(
                f"cannot save the class {value.__name__}: register it with keras.saving.register_keras_serializable"
            )
        return {"registered_class": name}
    if isinstance(value, functools.partial):
        keywords = {k: serialize_argument(v) for k, v in value.keywords.items()}
        return {"partial": serialize_argument(value.func), "args": serialize_argument(value.args), "keywords": keywords}
    return keras.saving.serialize_keras_object(value)


def deserialize_argument(config):
    """The inverse of serialize_argument."""
    if isinstance(config, list):
        return [deserialize_argument(c) for c in config]
    if isinstance(config, dict) and set(config) == {"registered_class"}:
        return keras.saving.get_registered_object(config["registered_class"])
    if isinstance(config, dict) and set(config) == {"partial", "args", "keywords"}:
        keywords = {k: deserialize_argument(v) for k, v in config["keywords"].items()}
        return functools.partial(
            deserialize_argument(config["partial"]), *deserialize_argument(config["args"]), **keywords
        )
    return keras.saving.deserialize_keras_object(config)


def serialize_arguments(arguments):
    """``get_config``'s share of a translated class: its constructor's arguments, saveable."""
    return {name: serialize_argument(value) for name, value in arguments.items()}


def deserialize_arguments(config, names):
    """``from_config``'s share: ``config`` with the constructor arguments ``names`` rebuilt."""
    return {**config, **{name: deserialize_argument(config[name]) for name in names if name in config}}


def load_weights_when_built(model, path):
    """``model.load_weights(path)``, also for a model that has no variables yet. A subclassed
    model creates them in its first call, and Keras 3 cannot load into variables that do not
    exist (PyTorch's modules have theirs from ``__init__``): such a model loads the file inside its
    first call, right after that call created them, and computes the call again with the loaded
    weights."""
    if model.built and model.variables:
        model.load_weights(path)
        return
    call = model.call

    def call_then_load(*args, **kwargs):
        if in_stateless_scope() or in_symbolic_scope():  # Keras tracing the call to build: no assignment sticks
            return call(*args, **kwargs)
        call(*args, **kwargs)  # creates the variables if the trace did not (its outputs: the initial weights)
        del model.call
        model.built = True  # every layer is built; load_weights checks the flag
        with tf.init_scope():  # inside fit's tf.function too: the variables are assigned eagerly
            model.load_weights(path)
        return call(*args, **kwargs)

    model.call = call_then_load
