"""Helpers for torch.nn.Module methods and nn.init, copied into translations that use them."""
import keras


def modules(layer):
    """Every layer in ``layer``'s tree, itself first, like torch's ``Module.modules()``."""
    return list(layer._flatten_layers(include_self=True, recursive=True))


def children(layer):
    """The direct sub-layers of ``layer``, like torch's ``Module.children()``."""
    return list(layer._flatten_layers(include_self=False, recursive=False))


_INITIALIZER_ATTRIBUTES = {
    "weight": ("kernel_initializer", "depthwise_initializer", "embeddings_initializer", "gamma_initializer"),
    "bias": ("bias_initializer", "beta_initializer"),
}


def initialize(owner, name, initializer):
    """What torch's in-place ``nn.init.*_(owner.name, ...)`` does, the Keras way.

    A variable that already exists is overwritten with ``initializer``'s values; a Keras layer
    not built yet (its weights do not exist before its first call) gets ``initializer`` as the
    initializer of its ``weight``/``bias`` (kernel/gamma/embeddings, bias/beta).
    """
    target = owner if name is None else getattr(owner, name, None)
    if isinstance(target, keras.Variable):
        target.assign(initializer(target.shape, target.dtype))
        return
    for attribute in _INITIALIZER_ATTRIBUTES.get(name, ()):
        if hasattr(owner, attribute):
            if owner.built:
                variable = getattr(owner, attribute[: -len("_initializer")])
                variable.assign(initializer(variable.shape, variable.dtype))
            else:
                setattr(owner, attribute, initializer)
            return
    raise AttributeError(f"cannot initialize {name!r} of {owner!r}")


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain."""
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                        "conv_transpose2d", "conv_transpose3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return 2.0 ** 0.5
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return (2.0 / (1 + slope ** 2)) ** 0.5
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity}")
