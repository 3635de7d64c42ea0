"""Support layers for translated ``torch.nn`` modules (PyTorch -> Keras 3).

Each definition here reproduces one PyTorch layer exactly where Keras has no one-call
equivalent. Data stays in PyTorch's layout: channels first (N, C, ...), and sequences
(seq, batch, features) unless ``batch_first=True``. A translation copies the definitions it
uses into its output, so they are plain Keras 3 and need nothing else.
"""

import keras


def channels_last_conv(layer, inputs, transpose=False):
    """Run a convolution layer built for channels-first data, computing channels last.

    TensorFlow has no channels-first (NCHW) convolution kernel on CPU outside XLA, so the
    translation's channels-first convolutions move the channel axis last, convolve with Keras'
    own op, add the bias and move the axis back. The layout analysis removes these moves
    wherever a run of layers can stay channels last (plain ``keras.layers.Conv2D`` there); this
    layer is what is left where it cannot prove that, e.g. a convolution built by a helper.
    """
    x = keras.ops.moveaxis(inputs, 1, -1)
    if transpose:
        y = keras.ops.conv_transpose(
            x,
            layer.kernel,
            strides=list(layer.strides),
            padding=layer.padding,
            output_padding=layer.output_padding,
            dilation_rate=layer.dilation_rate,
            data_format="channels_last",
        )
    else:
        y = keras.ops.conv(
            x,
            layer.kernel,
            strides=list(layer.strides),
            padding=layer.padding,
            dilation_rate=layer.dilation_rate,
            data_format="channels_last",
        )
    if layer.use_bias:
        y = y + layer.bias
    if layer.activation is not None:
        y = layer.activation(y)
    return keras.ops.moveaxis(y, -1, 1)


def channels_last_norm(layer):
    """A normalization layer built from a class the code holds in a variable (torchvision's
    ``norm_layer(planes)``), made to normalize the last axis: the translation runs it channels
    last. PyTorch's channel axis is 1; a layer on another axis, or of another kind, is refused."""
    if isinstance(layer, (keras.layers.BatchNormalization, keras.layers.GroupNormalization)):
        if not layer.built and layer.axis in (1, [1], (1,)):
            layer.axis = -1
            return layer
    if isinstance(layer, keras.layers.Identity):  # norm_layer=nn.Identity: the same in any order
        return layer
    raise ValueError(
        f"{type(layer).__name__} runs channels last here: only a batch or group normalization on "
        "axis 1 (PyTorch's channel axis), not yet built, can be adapted"
    )


def channels_last_block(layer, native, strict=False):
    """A block built from a class the code holds in a variable (torchvision's ``block(...)``), which
    the translation applies to channels-last tensors: an instance of ``native`` (the translated
    classes that take and return them) as it is; any other is written for PyTorch's order, so the
    channel axis moves around it. ``strict``: the block was given layers built channels last
    (torchvision's ``downsample``), which only the ``native`` classes expect: another is refused."""
    if isinstance(layer, native):
        return layer
    if strict:
        raise ValueError(
            f"{type(layer).__name__} is given layers built channels last here (e.g. a downsample): "
            f"only {', '.join(c.__name__ for c in native)} can take them"
        )
    return ChannelsFirstBlock(layer)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstBlock(keras.layers.Layer):
    """A layer written for channels-first tensors, applied to channels-last ones (channels_last_block)."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, inputs):
        return keras.ops.moveaxis(self.layer(keras.ops.moveaxis(inputs, -1, 1)), 1, -1)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv1D(keras.layers.Conv1D):
    """keras.layers.Conv1D on channels-first data, computed channels last (see channels_last_conv).
    ``in_channels``: the input size the source layer was given, known before the layer is built."""

    def __init__(self, *args, in_channels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_channels = in_channels

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}

    def call(self, inputs):
        return channels_last_conv(self, inputs)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv2D(keras.layers.Conv2D):
    """keras.layers.Conv2D on channels-first data, computed channels last (see channels_last_conv).
    ``in_channels``: the input size the source layer was given, known before the layer is built."""

    def __init__(self, *args, in_channels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_channels = in_channels

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}

    def call(self, inputs):
        return channels_last_conv(self, inputs)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv3D(keras.layers.Conv3D):
    """keras.layers.Conv3D on channels-first data, computed channels last (see channels_last_conv).
    ``in_channels``: the input size the source layer was given, known before the layer is built."""

    def __init__(self, *args, in_channels=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_channels = in_channels

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}

    def call(self, inputs):
        return channels_last_conv(self, inputs)


def conv_layer_for(
    rank,
    out_channels,
    kernel_size,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    bias=True,
    padding_mode="zeros",
    in_channels=None,
):
    """torch.nn.Conv{1,2,3}d with arguments known only when the model is built (a conv class
    passed as a value, ``conv_layer=nn.Conv2d``): the same layers the translation writes for
    known arguments, chosen at run time. Channels first."""
    conv = {1: ChannelsFirstConv1D, 2: ChannelsFirstConv2D, 3: ChannelsFirstConv3D}[rank]
    pad = {1: keras.layers.ZeroPadding1D, 2: keras.layers.ZeroPadding2D, 3: keras.layers.ZeroPadding3D}[rank]
    ks, ss, ds = as_tuple(kernel_size, rank), as_tuple(stride, rank), as_tuple(dilation, rank)
    if any(s != 1 for s in ss) and any(d != 1 for d in ds):
        raise ValueError("Keras convolutions cannot combine a stride > 1 with a dilation > 1")
    layer = conv(
        out_channels,
        kernel_size,
        strides=stride,
        dilation_rate=dilation,
        groups=groups,
        use_bias=bias,
        padding="same" if padding == "same" else "valid",
        in_channels=in_channels,
        data_format="channels_first",
    )
    if isinstance(padding, str):
        if padding_mode != "zeros" and padding == "same":
            raise ValueError('padding="same" with a padding_mode other than "zeros" is not translated')
        return layer
    ps = as_tuple(padding, rank)
    if all(p == 0 for p in ps):
        return layer
    if padding_mode == "zeros":
        if all(s == 1 and (d * (k - 1)) % 2 == 0 and p == d * (k - 1) // 2 for k, s, p, d in zip(ks, ss, ps, ds)):
            return conv(
                out_channels,
                kernel_size,
                padding="same",
                strides=stride,
                dilation_rate=dilation,
                groups=groups,
                use_bias=bias,
                in_channels=in_channels,
                data_format="channels_first",
            )
        widths = ps[0] if rank == 1 else tuple(ps)
        return keras.Sequential([pad(widths, data_format="channels_first"), layer])
    flat = tuple(q for p in ps[::-1] for q in (p, p))
    return keras.Sequential([TorchPad(flat, mode=padding_mode, rank=rank), layer])


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv1DTranspose(keras.layers.Conv1DTranspose):
    """keras.layers.Conv1DTranspose on channels-first data, computed channels last."""

    def call(self, inputs):
        return channels_last_conv(self, inputs, transpose=True)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv2DTranspose(keras.layers.Conv2DTranspose):
    """keras.layers.Conv2DTranspose on channels-first data, computed channels last."""

    def call(self, inputs):
        return channels_last_conv(self, inputs, transpose=True)


@keras.saving.register_keras_serializable(package="fwtranslate")
class ChannelsFirstConv3DTranspose(keras.layers.Conv3DTranspose):
    """keras.layers.Conv3DTranspose on channels-first data, computed channels last."""

    def call(self, inputs):
        return channels_last_conv(self, inputs, transpose=True)


def as_tuple(value, n):
    """``3`` -> ``(3, 3)`` for n=2; a tuple or list passes through (PyTorch's _pair/_triple)."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchConvTranspose(keras.layers.Layer):
    """A transposed convolution with PyTorch's ``padding`` and ``output_padding``.

    Runs the full transposed convolution (Keras ``padding="valid"``, extended at the end by
    ``output_padding - padding`` where that is positive), then crops ``padding`` from the start
    of each spatial axis and ``padding - output_padding`` from its end. The output size is
    PyTorch's ``(in - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1``.
    Channels first; ``rank`` is the number of spatial axes.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding=0,
        output_padding=0,
        dilation_rate=1,
        use_bias=True,
        rank=2,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.strides = filters, kernel_size, strides
        self.padding, self.output_padding = padding, output_padding
        self.dilation_rate, self.use_bias, self.rank = dilation_rate, use_bias, rank
        pads, extras = as_tuple(padding, rank), as_tuple(output_padding, rank)
        self.cropping = tuple((p, max(p - e, 0)) for p, e in zip(pads, extras))
        conv = {1: ChannelsFirstConv1DTranspose, 2: ChannelsFirstConv2DTranspose, 3: ChannelsFirstConv3DTranspose}[rank]
        self.conv = conv(
            filters,
            kernel_size,
            strides=strides,
            output_padding=tuple(max(e - p, 0) for p, e in zip(pads, extras)),
            dilation_rate=dilation_rate,
            use_bias=use_bias,
            data_format="channels_first",
        )

    def call(self, inputs):
        outputs = self.conv(inputs)
        crop = tuple(slice(start, -end if end else None) for start, end in self.cropping)
        return outputs[(slice(None), slice(None)) + crop]

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "dilation_rate": self.dilation_rate,
            "use_bias": self.use_bias,
            "rank": self.rank,
        }


def pool_output_size(size, kernel, stride, padding, ceil_mode):
    """PyTorch's pooling output length along one axis."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1  # the last window must start inside the input or the left padding
    return out


def spatial_shape(inputs, data_format):
    """The spatial sizes of a batch of maps."""
    return inputs.shape[2:] if data_format == "channels_first" else inputs.shape[1:-1]


def with_channel_axis(pads, data_format):
    """keras.ops.pad widths for the whole tensor from the spatial axes' (before, after)."""
    return [(0, 0), (0, 0), *pads] if data_format == "channels_first" else [(0, 0), *pads, (0, 0)]


def pool_window_padding(size, kernel, stride, padding, ceil_mode):
    """(before, after) padding that makes "valid" pooling give PyTorch's windows."""
    out = pool_output_size(size, kernel, stride, padding, ceil_mode)
    return padding, max((out - 1) * stride + kernel - size - padding, 0)


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchMaxPool(keras.layers.Layer):
    """PyTorch's MaxPool{1,2,3}d with ``padding`` (padded with -inf) and ``ceil_mode``.

    ``rank`` is the number of spatial axes; ``data_format`` as in Keras' pooling layers. Spatial
    sizes must be known.
    """

    def __init__(
        self, pool_size, strides=None, padding=0, ceil_mode=False, rank=2, data_format="channels_last", **kwargs
    ):
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding
        self.ceil_mode, self.rank, self.data_format = ceil_mode, rank, data_format

    def call(self, inputs):
        kernel = as_tuple(self.pool_size, self.rank)
        stride = as_tuple(self.strides if self.strides is not None else self.pool_size, self.rank)
        pads = [
            pool_window_padding(n, k, s, p, self.ceil_mode)
            for n, k, s, p in zip(
                spatial_shape(inputs, self.data_format), kernel, stride, as_tuple(self.padding, self.rank)
            )
        ]
        x = keras.ops.pad(inputs, with_channel_axis(pads, self.data_format), constant_values=float("-inf"))
        return keras.ops.max_pool(x, kernel, stride, padding="valid", data_format=self.data_format)

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
            "rank": self.rank,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchAvgPool(keras.layers.Layer):
    """PyTorch's AvgPool{1,2,3}d with ``padding``, ``ceil_mode``, ``count_include_pad`` and
    ``divisor_override``.

    Each window's sum is divided by the number of its elements inside the zero-padded input
    (``count_include_pad=True``) or inside the input itself; windows that ``ceil_mode`` lets run
    past the padding never count the overhang. ``data_format`` as in Keras' pooling layers;
    spatial sizes must be known.
    """

    def __init__(
        self,
        pool_size,
        strides=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
        rank=2,
        data_format="channels_last",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.pool_size, self.strides, self.padding = pool_size, strides, padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override, self.rank, self.data_format = divisor_override, rank, data_format

    def call(self, inputs):
        kernel = as_tuple(self.pool_size, self.rank)
        stride = as_tuple(self.strides if self.strides is not None else self.pool_size, self.rank)
        pads, divisor = [], None
        first = 2 if self.data_format == "channels_first" else 1  # the first spatial axis
        sizes = spatial_shape(inputs, self.data_format)
        for axis, (n, k, s, p) in enumerate(zip(sizes, kernel, stride, as_tuple(self.padding, self.rank)), start=first):
            pads.append(pool_window_padding(n, k, s, p, self.ceil_mode))
            counts = []
            for i in range(pool_output_size(n, k, s, p, self.ceil_mode)):
                start, end = i * s - p, min(i * s - p + k, n + p)
                if not self.count_include_pad:
                    start, end = max(start, 0), min(end, n)
                counts.append(float(end - start))
            shape = [1] * (self.rank + 2)
            shape[axis] = len(counts)
            counts = keras.ops.reshape(keras.ops.convert_to_tensor(counts, inputs.dtype), shape)
            divisor = counts if divisor is None else divisor * counts
        if self.divisor_override:
            divisor = float(self.divisor_override)
        x = keras.ops.pad(inputs, with_channel_axis(pads, self.data_format))
        mean = keras.ops.average_pool(x, kernel, stride, padding="valid", data_format=self.data_format)
        window = 1
        for k in kernel:
            window *= k
        return mean * float(window) / divisor

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
            "divisor_override": self.divisor_override,
            "rank": self.rank,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchAdaptivePool(keras.layers.Layer):
    """PyTorch's AdaptiveAvgPool / AdaptiveMaxPool, for any output size (None keeps an axis).

    Output bin ``i`` of an axis of length ``n`` covers ``[floor(i * n / out), ceil((i + 1) * n / out))``.
    ``mode`` is "avg" or "max"; ``data_format`` as in Keras' pooling layers; spatial sizes must be
    known.
    """

    def __init__(self, output_size, mode="avg", rank=2, data_format="channels_last", **kwargs):
        super().__init__(**kwargs)
        self.output_size, self.mode, self.rank, self.data_format = output_size, mode, rank, data_format

    def call(self, inputs):
        reduce = keras.ops.mean if self.mode == "avg" else keras.ops.max
        x = inputs
        first = 2 if self.data_format == "channels_first" else 1  # the first spatial axis
        for axis, out in enumerate(as_tuple(self.output_size, self.rank), start=first):
            n = x.shape[axis]
            if out is None or out == n:
                continue
            bins = []
            for i in range(out):
                start, end = (i * n) // out, -(-((i + 1) * n) // out)
                window = x[(slice(None),) * axis + (slice(start, end),)]
                bins.append(reduce(window, axis=axis, keepdims=True))
            x = keras.ops.concatenate(bins, axis=axis)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "output_size": self.output_size,
            "mode": self.mode,
            "rank": self.rank,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchFlatten(keras.layers.Layer):
    """PyTorch's Flatten(start_dim, end_dim): merges axes start_dim..end_dim, row-major."""

    def __init__(self, start_dim=1, end_dim=-1, **kwargs):
        super().__init__(**kwargs)
        self.start_dim, self.end_dim = start_dim, end_dim

    def call(self, inputs):
        rank = len(inputs.shape)
        start, end = self.start_dim % rank, self.end_dim % rank
        shape = keras.ops.shape(inputs)
        return keras.ops.reshape(inputs, (*shape[:start], -1, *shape[end + 1 :]))

    def get_config(self):
        return {**super().get_config(), "start_dim": self.start_dim, "end_dim": self.end_dim}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchUnflatten(keras.layers.Layer):
    """PyTorch's Unflatten(dim, unflattened_size): splits axis ``dim`` into ``unflattened_size``."""

    def __init__(self, dim, unflattened_size, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def call(self, inputs):
        dim = self.dim % len(inputs.shape)
        shape = keras.ops.shape(inputs)
        return keras.ops.reshape(inputs, (*shape[:dim], *self.unflattened_size, *shape[dim + 1 :]))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "unflattened_size": self.unflattened_size}


def interpolation_source(out_size, in_size, scale_factor, align_corners):
    """For each output index, the (fractional) input coordinate PyTorch samples."""
    if align_corners:
        scale = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return [i * scale for i in range(out_size)]
    scale = 1.0 / scale_factor if scale_factor else in_size / out_size
    return [max((i + 0.5) * scale - 0.5, 0.0) for i in range(out_size)]


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchUpsample(keras.layers.Layer):
    """PyTorch's Upsample / F.interpolate for "nearest", "nearest-exact", "linear", "bilinear"
    and "trilinear" modes, with ``size`` or ``scale_factor`` and ``align_corners``.

    Works axis by axis on input of any rank, with PyTorch's source-index formulas (for a given
    ``scale_factor``, PyTorch samples with ``1 / scale_factor``, not ``in / out``), so it is
    exact in either ``data_format`` (PyTorch's order by default; the layout analysis passes
    "channels_last" inside a run). Spatial sizes must be known.
    """

    def __init__(
        self,
        size=None,
        scale_factor=None,
        mode="nearest",
        align_corners=None,
        recompute_scale_factor=None,
        data_format="channels_first",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor
        self.data_format = data_format

    def call(self, inputs):
        rank = len(inputs.shape) - 2
        first = 2 if self.data_format == "channels_first" else 1  # the first spatial axis
        sizes = as_tuple(self.size, rank) if self.size is not None else None
        scales = as_tuple(self.scale_factor, rank) if self.size is None else (None,) * rank
        x = inputs
        for axis in range(rank):
            n = inputs.shape[axis + first]
            out = sizes[axis] if sizes is not None else int(n * scales[axis])
            scale = None if self.recompute_scale_factor else scales[axis]
            x = self.resize_axis(x, axis + first, n, out, scale)
        return x

    def resize_axis(self, x, axis, n, out, scale_factor):
        if self.mode in ("nearest", "nearest-exact"):
            # PyTorch computes floor((i + offset) * scale) in float32: so do we.
            scale = keras.ops.convert_to_tensor(1.0 / scale_factor if scale_factor else n / out, "float32")
            offset = 0.5 if self.mode == "nearest-exact" else 0.0
            index = keras.ops.floor((keras.ops.arange(out, dtype="float32") + offset) * scale)
            index = keras.ops.minimum(keras.ops.cast(index, "int32"), n - 1)
            return keras.ops.take(x, index, axis=axis)
        source = interpolation_source(out, n, scale_factor, self.align_corners)
        low = [min(int(s), n - 1) for s in source]
        high = [min(i + 1, n - 1) for i in low]
        shape = [1] * len(x.shape)
        shape[axis] = out
        weight = keras.ops.reshape(keras.ops.convert_to_tensor([s - i for s, i in zip(source, low)], x.dtype), shape)
        x_low, x_high = keras.ops.take(x, low, axis=axis), keras.ops.take(x, high, axis=axis)
        return x_low * (1.0 - weight) + x_high * weight

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "scale_factor": self.scale_factor,
            "mode": self.mode,
            "align_corners": self.align_corners,
            "recompute_scale_factor": self.recompute_scale_factor,
            "data_format": self.data_format,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchPixelShuffle(keras.layers.Layer):
    """PyTorch's PixelShuffle: (N, C * r * r, H, W) -> (N, C, H * r, W * r)."""

    def __init__(self, upscale_factor, **kwargs):
        super().__init__(**kwargs)
        self.upscale_factor = upscale_factor

    def call(self, inputs):
        r = self.upscale_factor
        n, c, h, w = keras.ops.shape(inputs)
        x = keras.ops.reshape(inputs, (n, c // (r * r), r, r, h, w))
        x = keras.ops.transpose(x, (0, 1, 4, 2, 5, 3))
        return keras.ops.reshape(x, (n, c // (r * r), h * r, w * r))

    def get_config(self):
        return {**super().get_config(), "upscale_factor": self.upscale_factor}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchPixelUnshuffle(keras.layers.Layer):
    """PyTorch's PixelUnshuffle: (N, C, H * r, W * r) -> (N, C * r * r, H, W)."""

    def __init__(self, downscale_factor, **kwargs):
        super().__init__(**kwargs)
        self.downscale_factor = downscale_factor

    def call(self, inputs):
        r = self.downscale_factor
        n, c, h, w = keras.ops.shape(inputs)
        x = keras.ops.reshape(inputs, (n, c, h // r, r, w // r, r))
        x = keras.ops.transpose(x, (0, 1, 3, 5, 2, 4))
        return keras.ops.reshape(x, (n, c * r * r, h // r, w // r))

    def get_config(self):
        return {**super().get_config(), "downscale_factor": self.downscale_factor}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchPad(keras.layers.Layer):
    """PyTorch's padding layers (ZeroPad, ConstantPad, ReflectionPad, ReplicationPad,
    CircularPad): ``padding`` is an int or PyTorch's flat (left, right, top, bottom, ...) tuple,
    last axis first; ``rank`` is the number of padded trailing axes.
    """

    def __init__(self, padding, mode="constant", value=0.0, rank=2, **kwargs):
        super().__init__(**kwargs)
        self.padding, self.mode, self.value, self.rank = padding, mode, value, rank

    def call(self, inputs):
        pad = as_tuple(self.padding, 2 * self.rank)
        x = inputs
        for i in range(len(pad) // 2):
            axis = len(inputs.shape) - 1 - i
            before, after = pad[2 * i], pad[2 * i + 1]
            if self.mode in ("constant", "zeros"):
                widths = [(0, 0)] * len(inputs.shape)
                widths[axis] = (before, after)
                x = keras.ops.pad(x, widths, constant_values=self.value)
                continue
            n = x.shape[axis]
            index = []
            for j in range(-before, n + after):
                if self.mode == "reflect":
                    j = abs(j) if j < 0 else (2 * (n - 1) - j if j >= n else j)
                elif self.mode == "replicate":
                    j = min(max(j, 0), n - 1)
                else:  # circular
                    j = j % n
                index.append(j)
            x = keras.ops.take(x, index, axis=axis)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "padding": self.padding,
            "mode": self.mode,
            "value": self.value,
            "rank": self.rank,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchPReLU(keras.layers.Layer):
    """PyTorch's PReLU: ``max(0, x) + alpha * min(0, x)``, with one ``alpha`` shared by every
    element (num_parameters=1) or one per channel on axis 1."""

    def __init__(self, num_parameters=1, init=0.25, **kwargs):
        super().__init__(**kwargs)
        self.num_parameters, self.init = num_parameters, init

    def build(self, input_shape):
        self.alpha = self.add_weight(
            shape=(self.num_parameters,), name="alpha", initializer=keras.initializers.Constant(self.init)
        )

    def call(self, inputs):
        alpha = self.alpha
        if self.num_parameters > 1 and len(inputs.shape) > 1:
            alpha = keras.ops.reshape(alpha, (1, self.num_parameters) + (1,) * (len(inputs.shape) - 2))
        return keras.ops.where(inputs >= 0, inputs, alpha * inputs)

    def get_config(self):
        return {**super().get_config(), "num_parameters": self.num_parameters, "init": self.init}


@keras.saving.register_keras_serializable(package="fwtranslate")  # saved by name (Activation)
def exact_gelu(x):
    """GELU in its exact erf form, as torch computes it (TensorFlow's own gelu drifts by ~4e-9
    in float64)."""
    return 0.5 * x * (1.0 + keras.ops.erf(x * 0.7071067811865476))


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchGELU(keras.layers.Layer):
    """GELU with PyTorch's ``approximate`` argument ("none": exact erf form, "tanh")."""

    def __init__(self, approximate="none", **kwargs):
        super().__init__(**kwargs)
        self.approximate = approximate

    def call(self, inputs):
        if self.approximate == "tanh":
            return keras.activations.gelu(inputs, approximate=True)
        return exact_gelu(inputs)

    def get_config(self):
        return {**super().get_config(), "approximate": self.approximate}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchSoftplus(keras.layers.Layer):
    """PyTorch's Softplus: ``log(1 + exp(beta * x)) / beta``, and ``x`` itself where
    ``beta * x > threshold``."""

    def __init__(self, beta=1.0, threshold=20.0, **kwargs):
        super().__init__(**kwargs)
        self.beta, self.threshold = beta, threshold

    def call(self, inputs):
        scaled = inputs * self.beta
        soft = keras.ops.softplus(scaled) / self.beta
        return keras.ops.where(scaled > self.threshold, inputs, soft)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta, "threshold": self.threshold}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchHardtanh(keras.layers.Layer):
    """PyTorch's Hardtanh: ``x`` clipped to [min_val, max_val]."""

    def __init__(self, min_val=-1.0, max_val=1.0, **kwargs):
        super().__init__(**kwargs)
        self.min_val, self.max_val = min_val, max_val

    def call(self, inputs):
        return keras.ops.clip(inputs, self.min_val, self.max_val)

    def get_config(self):
        return {**super().get_config(), "min_val": self.min_val, "max_val": self.max_val}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLogSoftmax(keras.layers.Layer):
    """log(softmax(x)) along ``axis``."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        return keras.ops.log_softmax(inputs, axis=self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchRecurrent(keras.layers.Layer):
    """Base of TorchLSTM, TorchGRU and TorchRNN: a stack of Keras recurrent layers called like PyTorch.

    One Keras layer per (layer, direction), in PyTorch's order ``layer * num_directions +
    direction`` (``self.rnns``); the reverse direction runs with ``go_backwards=True`` and its
    output sequence is flipped back. Inputs are (seq, batch, features), or (batch, seq, features)
    with ``batch_first=True``, or unbatched (seq, features); states are (num_layers *
    num_directions, batch, hidden_size). ``dropout`` applies between layers in training.
    """

    num_states = 1

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.rnns = [
            self.make_rnn(hidden_size, bias, go_backwards=direction == 1)
            for _ in range(num_layers)
            for direction in range(self.num_directions)
        ]
        self.dropout_layer = keras.layers.Dropout(dropout)

    def make_rnn(self, units, use_bias, go_backwards):
        raise NotImplementedError

    def run(self, inputs, initial_state=None, training=None):
        """Returns (output, [state_n for each state kind])."""
        unbatched = len(inputs.shape) == 2
        x = keras.ops.expand_dims(inputs, 1) if unbatched else inputs
        if not self.batch_first or unbatched:
            x = keras.ops.transpose(x, (1, 0, 2))  # Keras runs (batch, seq, features)
        states = None
        if initial_state is not None:
            states = [keras.ops.expand_dims(s, 1) if unbatched else s for s in initial_state]
        finals = [[] for _ in range(self.num_states)]
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout:
                x = self.dropout_layer(x, training=training)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                start = None if states is None else [s[index] for s in states]
                sequence, *final = self.rnns[index](x, initial_state=start, training=training)
                if direction == 1:
                    sequence = keras.ops.flip(sequence, axis=1)
                outputs.append(sequence)
                for kept, state in zip(finals, final):
                    kept.append(state)
            x = outputs[0] if len(outputs) == 1 else keras.ops.concatenate(outputs, axis=-1)
        if not self.batch_first or unbatched:
            x = keras.ops.transpose(x, (1, 0, 2))
        finals = [keras.ops.stack(kept, axis=0) for kept in finals]
        if unbatched:
            x = keras.ops.squeeze(x, 1)
            finals = [keras.ops.squeeze(s, 1) for s in finals]
        return x, finals

    def get_config(self):
        return {
            **super().get_config(),
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchLSTM(TorchRecurrent):
    """PyTorch's LSTM: ``output, (h_n, c_n) = lstm(x)`` or ``lstm(x, (h_0, c_0))``.

    Keras' LSTM gates (i, f, c, o) are PyTorch's (i, f, g, o); its single bias is PyTorch's
    ``bias_ih + bias_hh``.
    """

    num_states = 2

    def make_rnn(self, units, use_bias, go_backwards):
        return keras.layers.LSTM(
            units, use_bias=use_bias, return_sequences=True, return_state=True, go_backwards=go_backwards
        )

    def call(self, inputs, hx=None, training=None):
        output, (h_n, c_n) = self.run(inputs, hx, training)
        return output, (h_n, c_n)


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchGRU(TorchRecurrent):
    """PyTorch's GRU: ``output, h_n = gru(x)`` or ``gru(x, h_0)``.

    Keras' GRU with ``reset_after=True`` is PyTorch's formulation; its gates are ordered
    (z, r, h) where PyTorch's are (r, z, n).
    """

    def make_rnn(self, units, use_bias, go_backwards):
        return keras.layers.GRU(
            units,
            use_bias=use_bias,
            reset_after=True,
            return_sequences=True,
            return_state=True,
            go_backwards=go_backwards,
        )

    def call(self, inputs, hx=None, training=None):
        output, (h_n,) = self.run(inputs, None if hx is None else [hx], training)
        return output, h_n


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchRNN(TorchRecurrent):
    """PyTorch's (Elman) RNN: ``output, h_n = rnn(x)`` or ``rnn(x, h_0)``, with
    ``nonlinearity`` "tanh" or "relu". Keras' SimpleRNN has one bias: PyTorch's
    ``bias_ih + bias_hh``.
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        **kwargs,
    ):
        self.nonlinearity = nonlinearity  # make_rnn, called by the base class, needs it
        super().__init__(
            input_size,
            hidden_size,
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            **kwargs,
        )

    def make_rnn(self, units, use_bias, go_backwards):
        return keras.layers.SimpleRNN(
            units,
            activation=self.nonlinearity,
            use_bias=use_bias,
            return_sequences=True,
            return_state=True,
            go_backwards=go_backwards,
        )

    def call(self, inputs, hx=None, training=None):
        output, (h_n,) = self.run(inputs, None if hx is None else [hx], training)
        return output, h_n

    def get_config(self):
        return {**super().get_config(), "nonlinearity": self.nonlinearity}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchMultiheadAttention(keras.layers.Layer):
    """PyTorch's MultiheadAttention, called like it:
    ``attn_output, attn_weights = mha(query, key, value, key_padding_mask=None,
    need_weights=True, attn_mask=None, average_attn_weights=True, is_causal=False)``.

    Inputs are (seq, batch, embed) unless ``batch_first=True``, or unbatched (seq, embed).
    Boolean masks are True where attention is NOT allowed; float masks are added to the scores.
    ``attn_weights`` is (batch, L, S) averaged over heads, or (batch, heads, L, S), or None
    when ``need_weights=False``. ``is_causal`` without ``attn_mask`` applies a causal mask.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, kdim=None, vdim=None, batch_first=False, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim, self.num_heads, self.dropout, self.bias = embed_dim, num_heads, dropout, bias
        self.kdim, self.vdim, self.batch_first = kdim, vdim, batch_first
        self.head_dim = embed_dim // num_heads
        self.q_proj = keras.layers.Dense(embed_dim, use_bias=bias)
        self.k_proj = keras.layers.Dense(embed_dim, use_bias=bias)
        self.v_proj = keras.layers.Dense(embed_dim, use_bias=bias)
        self.out_proj = keras.layers.Dense(embed_dim, use_bias=bias)
        self.attn_dropout = keras.layers.Dropout(dropout)

    def split_heads(self, x):
        batch, length = keras.ops.shape(x)[0], keras.ops.shape(x)[1]
        x = keras.ops.reshape(x, (batch, length, self.num_heads, self.head_dim))
        return keras.ops.transpose(x, (0, 2, 1, 3))  # (batch, heads, length, head_dim)

    def additive_mask(self, mask, dtype):
        mask = keras.ops.convert_to_tensor(mask)
        if mask.dtype == "bool":
            mask = keras.ops.where(mask, float("-inf"), 0.0)
        return keras.ops.cast(mask, dtype)

    def call(
        self,
        query,
        key,
        value,
        key_padding_mask=None,
        need_weights=True,
        attn_mask=None,
        average_attn_weights=True,
        is_causal=False,
        training=None,
    ):
        unbatched = len(query.shape) == 2
        if unbatched:
            query, key, value = (keras.ops.expand_dims(t, 1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = keras.ops.expand_dims(key_padding_mask, 0)
        if not self.batch_first or unbatched:
            query, key, value = (keras.ops.transpose(t, (1, 0, 2)) for t in (query, key, value))
        batch, target, source = keras.ops.shape(query)[0], query.shape[1], key.shape[1]
        q = self.split_heads(self.q_proj(query)) * (float(self.head_dim) ** -0.5)
        k = self.split_heads(self.k_proj(key))
        v = self.split_heads(self.v_proj(value))
        scores = keras.ops.matmul(q, keras.ops.transpose(k, (0, 1, 3, 2)))
        if attn_mask is None and is_causal:
            attn_mask = keras.ops.triu(keras.ops.ones((target, source), "bool"), 1)
        if attn_mask is not None:
            mask = self.additive_mask(attn_mask, scores.dtype)
            if len(mask.shape) == 3:  # (batch * heads, L, S)
                mask = keras.ops.reshape(mask, (batch, self.num_heads, target, source))
            scores = scores + mask
        if key_padding_mask is not None:
            mask = self.additive_mask(key_padding_mask, scores.dtype)
            scores = scores + keras.ops.reshape(mask, (batch, 1, 1, source))
        weights = keras.ops.softmax(scores, axis=-1)
        weights = self.attn_dropout(weights, training=training)
        output = keras.ops.matmul(weights, v)  # (batch, heads, L, head_dim)
        output = keras.ops.reshape(keras.ops.transpose(output, (0, 2, 1, 3)), (batch, target, self.embed_dim))
        output = self.out_proj(output)
        if not self.batch_first or unbatched:
            output = keras.ops.transpose(output, (1, 0, 2))
        if unbatched:
            output = keras.ops.squeeze(output, 1)
        if not need_weights:
            return output, None
        if average_attn_weights:
            weights = keras.ops.mean(weights, axis=1)
        if unbatched:
            weights = keras.ops.squeeze(weights, 0)
        return output, weights

    def get_config(self):
        return {
            **super().get_config(),
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "bias": self.bias,
            "kdim": self.kdim,
            "vdim": self.vdim,
            "batch_first": self.batch_first,
        }


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchEmbedding(keras.layers.Embedding):
    """Embedding with PyTorch's ``padding_idx``: that row starts at zeros and gets no gradient
    (the looked-up padding vectors are constants), so training never changes it."""

    def __init__(self, input_dim, output_dim, padding_idx=None, **kwargs):
        super().__init__(input_dim, output_dim, **kwargs)
        if padding_idx is not None and padding_idx < 0:
            padding_idx += input_dim
        self.padding_idx = padding_idx

    def build(self, input_shape=None):
        super().build(input_shape)
        if self.padding_idx is not None:
            rows = keras.ops.arange(self.input_dim)[:, None] == self.padding_idx
            self.embeddings.assign(keras.ops.where(rows, 0.0, self.embeddings))

    def call(self, inputs):
        outputs = super().call(inputs)
        if self.padding_idx is None:
            return outputs
        padding = keras.ops.expand_dims(inputs == self.padding_idx, -1)
        return keras.ops.where(padding, keras.ops.stop_gradient(outputs), outputs)

    def get_config(self):
        return {**super().get_config(), "padding_idx": self.padding_idx}


@keras.saving.register_keras_serializable(package="fwtranslate")
class TorchStochasticDepth(keras.layers.Layer):
    """torchvision.ops.StochasticDepth(p, mode): in training, zeroes the whole input ("batch")
    or each sample ("row") with probability p and scales what is kept by 1 / (1 - p)."""

    def __init__(self, p, mode, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        self.p, self.mode = p, mode
        self.seed_generator = keras.random.SeedGenerator()

    def call(self, inputs, training=None):
        if not training or self.p == 0.0:
            return inputs
        survival = 1.0 - self.p
        rank = len(inputs.shape)
        shape = (keras.ops.shape(inputs)[0],) + (1,) * (rank - 1) if self.mode == "row" else (1,) * rank
        noise = keras.ops.cast(keras.random.uniform(shape, seed=self.seed_generator) < survival, inputs.dtype)
        if survival > 0.0:
            noise = noise / survival
        return inputs * noise

    def get_config(self):
        return {**super().get_config(), "p": self.p, "mode": self.mode}
