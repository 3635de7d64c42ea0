"""Helpers for torch.nn.Module methods and nn.init, copied into translations that use them."""

import math

import keras


def modules(layer):
    """Every layer in ``layer``'s tree, itself first, like torch's ``Module.modules()``."""
    return list(layer._flatten_layers(include_self=True, recursive=True))


def children(layer):
    """The direct sub-layers of ``layer``, like torch's ``Module.children()``."""
    return list(layer._flatten_layers(include_self=False, recursive=False))


def apply_to_modules(layer, fn):
    """torch's ``Module.apply(fn)``: ``fn`` on every sub-layer, children before their parent
    (depth first, in attribute order), then on ``layer``; returns ``layer``."""
    for child in children(layer):
        apply_to_modules(child, fn)
    fn(layer)
    return layer


_INITIALIZER_ATTRIBUTES = {
    "weight": ("kernel_initializer", "depthwise_initializer", "embeddings_initializer", "gamma_initializer"),
    "bias": ("bias_initializer", "beta_initializer"),
}


def layer_name(layer):
    """A unique Keras name for a layer whose class name starts with "_" (``_DenseLayer`` ->
    ``dense_layer_3``): TensorFlow's name scopes must start with a letter or digit."""
    base = "".join("_" + c.lower() if c.isupper() else c for c in type(layer).__name__).strip("_")
    return f"{base}_{keras.backend.get_uid(base)}"


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchSequential(keras.Sequential):
    """Base of translated nn.Sequential subclasses: a layer assigned to a public attribute
    (``self.norm = ...``) joins the sequence, as torch runs every module registered on an
    nn.Sequential, in order."""

    def __setattr__(self, name, value):
        if isinstance(value, keras.layers.Layer) and not name.startswith("_") and hasattr(self, "_layers"):
            self.add(value)
        super().__setattr__(name, value)


def add_layer(parent, name, layer):
    """torch's ``parent.add_module(name, layer)``: a keras.Sequential appends the layer (an
    nn.Sequential runs added modules in order); any other layer gets it as attribute ``name``."""
    if isinstance(parent, keras.Sequential):
        parent.add(layer)
    else:
        setattr(parent, name, layer)


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchModuleDict(keras.layers.Layer):
    """Base of translated nn.ModuleDict subclasses: the layers set as attributes (setattr,
    add_module), in the order they were set, with torch's dict methods."""

    def __init__(self, modules=None, **kwargs):
        super().__init__(**kwargs)
        for name, layer in (modules or {}).items():
            setattr(self, name, layer)

    def items(self):
        return [(k, v) for k, v in vars(self).items() if not k.startswith("_") and isinstance(v, keras.layers.Layer)]

    def keys(self):
        return [k for k, _ in self.items()]

    def values(self):
        return [v for _, v in self.items()]

    def __getitem__(self, name):
        return dict(self.items())[name]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self):
        return len(self.items())

    def __contains__(self, name):
        return name in self.keys()


def named_sequential(layers):
    """``nn.Sequential(OrderedDict(...))``: a keras.Sequential of the dict's layers in order (the
    weight transfer matches them by position), each also reachable under its name (``seq.head``)
    as in torch. Given one layer (``nn.Sequential(block)``), a Sequential of that layer."""
    if not isinstance(layers, dict):
        return keras.Sequential([layers])
    sequential = keras.Sequential(list(layers.values()))
    for name, layer in layers.items():
        if not hasattr(type(sequential), name):
            object.__setattr__(sequential, name, layer)  # not tracked twice: it is in the sequence
    return sequential


def layer_attribute(layer, name):
    """torch's ``layer.out_features`` / ``in_features`` / ``out_channels`` / ``in_channels`` on a
    Keras layer: the attribute itself where the layer has it (support layers keep torch's
    names), else Keras' ``units`` / ``filters``, or the input size read from the built kernel."""
    if hasattr(layer, name):
        value = getattr(layer, name)
        if value is not None or not isinstance(layer, keras.layers.Layer):
            return value
    if name in ("out_features", "out_channels"):
        return layer.units if hasattr(layer, "units") else layer.filters
    if getattr(layer, "built", False) and hasattr(layer, "kernel"):
        return layer.kernel.shape[0] if name == "in_features" else layer.kernel.shape[-2] * getattr(layer, "groups", 1)
    raise AttributeError(f"{layer.name}.{name} is known only once the layer is built (Keras infers input sizes)")


def has_weight(layer, name):
    """torch's ``module.weight is not None`` / ``module.bias is not None`` for a Keras layer,
    built or not (an unbuilt Keras layer has no variables yet; its flags say what it will have)."""
    flags = {"bias": ("use_bias", "center"), "weight": ("scale",)}[name]
    for flag in flags:
        if hasattr(layer, flag):
            return bool(getattr(layer, flag))
    if name == "weight" and layer.__class__.__module__.startswith("keras"):
        return True  # Keras' own weighted layers always have their kernel/embeddings
    return getattr(layer, name, None) is not None


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


class TorchTruncatedNormal(keras.initializers.Initializer):
    """torch.nn.init.trunc_normal_: a normal(mean, std) truncated at the absolute bounds [a, b],
    sampled as torch samples it (uniform in the bounds' CDF range, then the inverse CDF).
    Keras' TruncatedNormal always cuts at mean +- 2 std."""

    def __init__(self, mean=0.0, std=1.0, a=-2.0, b=2.0, seed=None):
        self.mean, self.std, self.a, self.b, self.seed = mean, std, a, b, seed

    def __call__(self, shape, dtype=None):
        def cdf(v):
            return (1.0 + math.erf((v - self.mean) / self.std / math.sqrt(2.0))) / 2.0

        low, high = 2 * cdf(self.a) - 1, 2 * cdf(self.b) - 1
        u = keras.random.uniform(shape, minval=low, maxval=high, dtype=dtype, seed=self.seed)
        x = keras.ops.erfinv(u) * (self.std * math.sqrt(2.0)) + self.mean
        return keras.ops.clip(x, self.a, self.b)

    def get_config(self):
        return {"mean": self.mean, "std": self.std, "a": self.a, "b": self.b, "seed": self.seed}


def calculate_gain(nonlinearity, param=None):
    """torch.nn.init.calculate_gain."""
    if nonlinearity in (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    ):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return 2.0**0.5
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return (2.0 / (1 + slope**2)) ** 0.5
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity}")


def variable_value(x):
    """A keras.Variable's value (libraries such as einops take tensors, not Keras variables);
    anything else as it is."""
    return x.value if isinstance(x, keras.Variable) else x


def load_torch_state_dict(layer, state_dict):
    """Module.load_state_dict: a PyTorch state dict has torch's names and layouts, which a Keras
    model does not. Raises NotImplementedError: convert the checkpoint with ``fwtranslate weights``."""
    raise NotImplementedError(
        f"loading a PyTorch state dict into the Keras model {type(layer).__name__} is not supported: "
        "convert the checkpoint with `fwtranslate weights` and use model.load_weights(...)"
    )
