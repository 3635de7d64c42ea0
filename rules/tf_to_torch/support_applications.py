"""Support for translated Keras applications (keras/src/applications/*.py: VGG16, ResNet,
MobileNetV2, DenseNet...): the helpers of ``keras.applications.imagenet_utils`` and the few
backend / utility functions the model builders call.

- Plain-Python helpers (``obtain_input_shape``, ``validate_activation``, ``correct_pad``) keep
  Keras' behaviour exactly (channels_last, Keras' default image layout);
- ``preprocess_input`` is Keras' tensor path on torch tensors (modes caffe / tf / torch);
- whatever downloads (pretrained weights through ``get_file``, the ImageNet class index of
  ``decode_predictions``) or reads a Keras weights file (``Model.load_weights`` of a file
  that torch did not write) raises a clear NotImplementedError instead: the translation never fetches Keras files. Build the model with
  ``weights=None`` and convert a Keras checkpoint with ``fwtranslate weights``.
"""

import warnings
import zipfile

import torch

from support_functional import KerasTensor, _leaves, _needed, _Ref, _Trace


def keras_pretrained_help():
    """What to do instead of loading Keras' pretrained weights (the error messages' advice)."""
    return (
        "pretrained Keras weights are not fetched by the translation: build the model with "
        "weights=None, convert a Keras checkpoint with `fwtranslate weights ORIGINAL.py TRANSLATED.py "
        "--entry NAME --from model.weights.h5 --to model.pt` and load it with "
        "model.load_state_dict(torch.load('model.pt'))"
    )


def keras_get_file(fname=None, origin=None):
    """keras.utils.get_file: Keras downloads ``origin`` into its cache. Not translated into a
    download: raises NotImplementedError (pretrained weights are converted with
    ``fwtranslate weights`` instead)."""
    raise NotImplementedError(
        f"keras.utils.get_file({fname!r}) would download {origin}; "
        "the translation does not download files: " + keras_pretrained_help()
    )


def keras_load_weights(model, filepath):
    """Model.load_weights. A checkpoint torch wrote (a translated ``save_weights`` or
    ``ModelCheckpoint``: torch's zip format, whose records end in ``data.pkl``) loads into the
    model, so a script that loads what another translated script saved runs. A Keras weights file
    (HDF5, Keras' names and layouts) raises NotImplementedError: convert it with ``fwtranslate weights``."""
    if zipfile.is_zipfile(filepath):
        with zipfile.ZipFile(filepath) as archive:
            written_by_torch = any(name.endswith("data.pkl") for name in archive.namelist())
        if written_by_torch:
            model.load_state_dict(torch.load(filepath))
            return
    raise NotImplementedError(
        f"loading the Keras weights file {filepath!r} into a translated model is not supported: "
        + keras_pretrained_help()
    )


def keras_is_keras_tensor(x):
    """keras.backend.is_keras_tensor: a symbolic tensor of a functional builder (KerasInput or
    a layer applied to one), not a tensor holding data."""
    return isinstance(x, KerasTensor)


def keras_get_source_inputs(tensor):
    """keras.utils.get_source_inputs: the input placeholders ``tensor`` was computed from (a
    list, in the order Keras finds them: depth first through the inputs of each operation);
    anything that is not a placeholder of a builder is returned as it is, like Keras does."""
    if not isinstance(tensor, KerasTensor):
        return tensor
    trace = _Trace.stack[-1] if _Trace.stack else None
    index = tensor._keras_node[0]
    if trace is None or index >= len(trace.nodes) or trace.nodes[index][0] == "input":
        return [tensor]
    needed = _needed(trace.nodes, [_Ref(index, None)])
    sources = {}  # node -> the input nodes it depends on, in Keras' order
    for i in sorted(needed):  # a node only refers to earlier nodes
        kind, _, args, kwargs = trace.nodes[i]
        if kind == "input":
            sources[i] = [i]
            continue
        found = []
        for ref in _leaves((args, kwargs)):
            if isinstance(ref, _Ref):
                found += [s for s in sources[ref.node] if s not in found]
        sources[i] = found
    # FunctionalModel needs the inputs' graph nodes only: placeholders standing for them
    return [KerasTensor(torch.zeros(0), (i, None)) for i in sources[index]]


class KerasUid:
    """keras.backend.get_uid: one counter per prefix, 1 on the first call."""

    counts = {}

    @classmethod
    def get(cls, prefix=""):
        cls.counts[prefix] = cls.counts.get(prefix, 0) + 1
        return cls.counts[prefix]


def keras_obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """imagenet_utils.obtain_input_shape: the model's input shape (batch axis excluded) from
    the user's ``input_shape`` (None: the default), validated as Keras does."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if data_format == "channels_first":
            correct_channel_axis = 1 if len(input_shape) == 4 else 0
            if input_shape[correct_channel_axis] not in {1, 3}:
                warnings.warn(
                    "This model usually expects 1 or 3 input channels. "
                    "However, it was passed an input_shape "
                    f"with {input_shape[0]} input channels.",
                    stacklevel=2,
                )
            default_shape = (input_shape[0], default_size, default_size)
        else:
            if input_shape[-1] not in {1, 3}:
                warnings.warn(
                    "This model usually expects 1 or 3 input channels. "
                    "However, it was passed an input_shape "
                    f"with {input_shape[-1]} input channels.",
                    stacklevel=2,
                )
            default_shape = (default_size, default_size, input_shape[-1])
    else:
        if data_format == "channels_first":
            default_shape = (3, default_size, default_size)
        else:
            default_shape = (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None:
            if input_shape != default_shape:
                raise ValueError(
                    "When setting `include_top=True` "
                    "and loading `imagenet` weights, "
                    f"`input_shape` should be {default_shape}.  "
                    f"Received: input_shape={input_shape}"
                )
        return default_shape
    if input_shape:
        channels = 0 if data_format == "channels_first" else -1
        rows, cols = (1, 2) if data_format == "channels_first" else (0, 1)
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        if input_shape[channels] != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if (input_shape[rows] is not None and input_shape[rows] < min_size) or (
            input_shape[cols] is not None and input_shape[cols] < min_size
        ):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: input_shape={input_shape}")
    else:
        if require_flatten:
            input_shape = default_shape
        else:
            if data_format == "channels_first":
                input_shape = (3, None, None)
            else:
                input_shape = (None, None, 3)
    if require_flatten:
        if None in input_shape:
            raise ValueError(
                "If `include_top` is True, "
                "you should specify a static `input_shape`. "
                f"Received: input_shape={input_shape}"
            )
    return input_shape


def keras_validate_activation(classifier_activation, weights):
    """imagenet_utils.validate_activation: with pretrained weights only a softmax or no
    (linear) classifier activation is allowed."""
    if weights is None:
        return
    name = classifier_activation
    if callable(classifier_activation):
        name = getattr(classifier_activation, "__name__", None)
    if name not in (None, "softmax", "linear"):
        raise ValueError(
            "Only `None` and `softmax` activations are allowed "
            "for the `classifier_activation` argument when using "
            "pretrained weights, with `include_top=True`; Received: "
            f"classifier_activation={classifier_activation}"
        )


def keras_correct_pad(inputs, kernel_size):
    """imagenet_utils.correct_pad: the ((top, bottom), (left, right)) zero padding before a
    strided convolution, from the spatial size of a channels-last ``inputs`` (N, H, W, C)."""
    input_size = inputs.shape[1:3]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    if input_size[0] is None:
        adjust = (1, 1)
    else:
        adjust = (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def keras_preprocess_input(x, data_format=None, mode="caffe"):
    """imagenet_utils.preprocess_input on a batch of images (3-D or 4-D, 3 colour channels,
    values in [0, 255]); returns a new tensor, like Keras on tensors.

    - caffe: RGB -> BGR, then the ImageNet mean pixel subtracted (no scaling);
    - tf: scaled to [-1, 1];
    - torch: scaled to [0, 1], then normalised with ImageNet's mean and std per channel.

    Integer inputs (uint8 images) are converted to float32 first, as Keras does for arrays.
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError(f"Expected mode to be one of `caffe`, `tf` or `torch`. Received: mode={mode}")
    if data_format is None:
        data_format = "channels_last"
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError(
            "Expected data_format to be one of `channels_first` or "
            f"`channels_last`. Received: data_format={data_format}"
        )
    x = torch.as_tensor(x)
    if not x.is_floating_point():
        x = x.to(torch.float32)
    ndim = x.dim()
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean = [0.485, 0.456, 0.406]
        std = [0.229, 0.224, 0.225]
    else:
        channel_axis = (0 if ndim == 3 else 1) if data_format == "channels_first" else -1
        x = torch.flip(x, dims=(channel_axis,))  # 'RGB' -> 'BGR'
        mean = [103.939, 116.779, 123.68]
        std = None
    mean_tensor = -torch.tensor(mean, dtype=torch.float64).to(x.dtype)
    if data_format == "channels_first":
        mean_tensor = mean_tensor.reshape((3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2))
    else:
        mean_tensor = mean_tensor.reshape((1,) * (ndim - 1) + (3,))
    x = x + mean_tensor
    if std is not None:
        std_tensor = torch.tensor(std, dtype=torch.float64).to(x.dtype)
        if data_format == "channels_first":
            std_tensor = std_tensor.reshape(-1, 1, 1)
        x = x / std_tensor
    return x


def keras_decode_predictions(preds, top=5):
    """Decodes the prediction of an ImageNet model.

    Args:
        preds: NumPy array encoding a batch of predictions.
        top: Integer, how many top-guesses to return. Defaults to `5`.

    Returns:
        A list of lists of top class prediction tuples
        `(class_name, class_description, score)`.
        One list of tuples per sample in batch input.

    Raises:
        ValueError: In case of invalid shape of the `pred` array
            (must be 2D).

    (Translated: Keras downloads the ImageNet class index for this; the translation does not
    download files, so after the shape check it raises NotImplementedError.)
    """
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "`decode_predictions` expects "
            "a batch of predictions "
            "(i.e. a 2D array of shape (samples, 1000)). "
            f"Received array with shape: {preds.shape}"
        )
    raise NotImplementedError(
        "decode_predictions needs Keras' ImageNet class index (imagenet_class_index.json), which "
        "Keras downloads; the translation does not download files. Map the top indices of "
        "preds.topk(top) to class names with a local copy of that file."
    )


class KerasImagenetDocs:
    """The docstring pieces of keras.applications.imagenet_utils (PREPROCESS_INPUT_DOC and the
    texts formatted into it), for the ``preprocess_input.__doc__ = ...`` lines of applications."""

    PREPROCESS_INPUT_DOC = """
  Preprocesses a tensor encoding a batch of images.

  Args:
        x: A floating point tensor, 3D or 4D with 3 color channels, with values in the
            range [0, 255].
        data_format: Optional data format of the image tensor. None means
        "channels_last" (Keras' default image data format).{mode}
        Defaults to `None`.

  Returns:
      Preprocessed tensor with type `float32`.
      {ret}

  Raises:
      {error}
  """

    PREPROCESS_INPUT_MODE_DOC = """
    mode: One of "caffe", "tf" or "torch".
      - caffe: will convert the images from RGB to BGR,
          then will zero-center each color channel with
          respect to the ImageNet dataset,
          without scaling.
      - tf: will scale pixels between -1 and 1,
          sample-wise.
      - torch: will scale pixels between 0 and 1 and then
          will normalize each channel with respect to the
          ImageNet dataset.
      Defaults to `"caffe"`.
  """

    PREPROCESS_INPUT_DEFAULT_ERROR_DOC = """
    ValueError: In case of unknown `mode` or `data_format` argument."""

    PREPROCESS_INPUT_ERROR_DOC = """
    ValueError: In case of unknown `data_format` argument."""

    PREPROCESS_INPUT_RET_DOC_TF = """
      The inputs pixel values are scaled between -1 and 1, sample-wise."""

    PREPROCESS_INPUT_RET_DOC_TORCH = """
      The input pixels values are scaled between 0 and 1 and each channel is
      normalized with respect to the ImageNet dataset."""

    PREPROCESS_INPUT_RET_DOC_CAFFE = """
      The images are converted from RGB to BGR, then each color channel is
      zero-centered with respect to the ImageNet dataset, without scaling."""

    @classmethod
    def preprocess_input(cls, mode="", ret="", error=""):
        """PREPROCESS_INPUT_DOC.format(mode=..., ret=..., error=...)."""
        return cls.PREPROCESS_INPUT_DOC.format(mode=mode, ret=ret, error=error)
