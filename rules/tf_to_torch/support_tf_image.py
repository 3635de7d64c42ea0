"""Support functions for tf.image (Keras / TensorFlow -> PyTorch). Images are channels last,
(H, W, C) or (N, H, W, C), as in TensorFlow; each function follows TensorFlow's arithmetic
(its colour-space kernels, its dtype scaling, its "SAME" padding)."""

import math

import torch
import torch.nn.functional as F

from support_ops import keras_dtype, keras_resize


def tf_convert_image_dtype(image, dtype, saturate=False):
    """tf.image.convert_image_dtype: integers span [0, MAX], floats [0, 1]; int -> int shifts by
    the ratio of the maxima, float -> int scales by MAX + 0.5 and truncates."""
    dtype = keras_dtype(dtype)
    if image.dtype == dtype:
        return image
    source_float, target_float = image.dtype.is_floating_point, dtype.is_floating_point
    if source_float and target_float:
        return image.to(dtype)
    if not source_float and not target_float:
        scale_in, scale_out = torch.iinfo(image.dtype).max, torch.iinfo(dtype).max
        if scale_in > scale_out:
            return torch.div(image, (scale_in + 1) // (scale_out + 1), rounding_mode="floor").to(dtype)
        return image.to(dtype) * ((scale_out + 1) // (scale_in + 1))
    if not source_float:
        return image.to(dtype) * (1.0 / torch.iinfo(image.dtype).max)
    scaled = image * (torch.iinfo(dtype).max + 0.5)
    if saturate:
        scaled = torch.clamp(scaled, torch.iinfo(dtype).min, torch.iinfo(dtype).max)
    return scaled.to(dtype)


def tf_rgb_to_grayscale(images):
    """tf.image.rgb_to_grayscale: ITU-R 601 weights on float values, in the input's dtype."""
    flt = tf_convert_image_dtype(images, torch.float32)
    weights = torch.tensor([0.2989, 0.5870, 0.1140], dtype=flt.dtype, device=flt.device)
    return tf_convert_image_dtype(torch.tensordot(flt, weights, dims=([-1], [0])).unsqueeze(-1), images.dtype)


def tf_rgb_to_hsv(images):
    """tf.image.rgb_to_hsv, TensorFlow's kernel: hue in [0, 1), 0 for grey pixels."""
    r, g, b = images.unbind(-1)
    value = torch.maximum(torch.maximum(r, g), b)
    span = value - torch.minimum(torch.minimum(r, g), b)
    saturation = torch.where(value > 0, span / torch.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * torch.where(span > 0, span, 1.0))
    hue = torch.where(
        value == r, norm * (g - b), torch.where(value == g, norm * (b - r) + 2.0 / 6, norm * (r - g) + 4.0 / 6)
    )
    hue = torch.where(span > 0, hue, 0.0)
    hue = torch.where(hue < 0, hue + 1.0, hue)
    return torch.stack([hue, saturation, value], dim=-1)


def tf_hsv_to_rgb(images):
    """tf.image.hsv_to_rgb, TensorFlow's kernel (the hue's sextant picks the components)."""
    h, s, v = images.unbind(-1)
    c = s * v
    m = v - c
    dh = h * 6.0
    sextant = dh.to(torch.int64)  # truncation, as TF's static_cast<int>
    x = c * (1.0 - torch.abs(torch.fmod(dh, 2.0) - 1.0))
    zero = torch.zeros_like(c)
    table = [(c, x, zero), (x, c, zero), (zero, c, x), (zero, x, c), (x, zero, c), (c, zero, x)]
    rgb = [zero, zero, zero]
    for k, components in enumerate(table):
        rgb = [torch.where(sextant == k, comp, out) for comp, out in zip(components, rgb)]
    return torch.stack([channel + m for channel in rgb], dim=-1)


def tf_crop_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """tf.image.crop_to_bounding_box: rows and columns of an (H, W, C) or (N, H, W, C) image."""
    return image[..., offset_height : offset_height + target_height, offset_width : offset_width + target_width, :]


def tf_pad_to_bounding_box(image, offset_height, offset_width, target_height, target_width):
    """tf.image.pad_to_bounding_box: zeros above / left by the offsets, then up to the target size."""
    height, width = image.shape[-3], image.shape[-2]
    pads = (
        0,
        0,
        offset_width,
        target_width - offset_width - width,
        offset_height,
        target_height - offset_height - height,
    )
    return F.pad(image, pads)


def tf_central_crop(image, central_fraction):
    """tf.image.central_crop: the start offsets are int((size - size * fraction) / 2)."""
    height, width = image.shape[-3], image.shape[-2]
    top, left = int((height - height * central_fraction) / 2), int((width - width * central_fraction) / 2)
    return image[..., top : height - top, left : width - left, :]


def tf_resize_with_pad(image, target_height, target_width, method="bilinear", antialias=False):
    """tf.image.resize_with_pad: resized to fit, keeping the aspect ratio, then padded with zeros
    (centred, the odd row / column after)."""
    height, width = image.shape[-3], image.shape[-2]
    ratio = max(width / target_width, height / target_height)
    new_height, new_width = math.floor(height / ratio), math.floor(width / ratio)
    top = max(0, math.floor((target_height - height / ratio) / 2))
    left = max(0, math.floor((target_width - width / ratio) / 2))
    if antialias:
        raise ValueError("antialiased resizing is not translated")
    resized = keras_resize(image, (new_height, new_width), interpolation=method)
    return tf_pad_to_bounding_box(resized, top, left, target_height, target_width)


def tf_adjust_contrast(images, contrast_factor):
    """tf.image.adjust_contrast: (x - mean) * factor + mean, the mean of each image and channel."""
    flt = tf_convert_image_dtype(images, torch.float32)
    mean = torch.mean(flt, dim=(-3, -2), keepdim=True)
    return tf_convert_image_dtype((flt - mean) * contrast_factor + mean, images.dtype, saturate=True)


def tf_adjust_brightness(image, delta):
    """tf.image.adjust_brightness: delta added to the float values."""
    flt = tf_convert_image_dtype(image, torch.float32)
    return tf_convert_image_dtype(flt + delta, image.dtype, saturate=True)


def tf_per_image_standardization(image):
    """tf.image.per_image_standardization: (x - mean) / max(std, 1 / sqrt(pixels)) per image."""
    image = image.to(torch.float32)
    pixels = image.shape[-3] * image.shape[-2] * image.shape[-1]
    mean = torch.mean(image, dim=(-3, -2, -1), keepdim=True)
    std = torch.std(image, dim=(-3, -2, -1), correction=0, keepdim=True)
    return (image - mean) / torch.clamp(std, min=1.0 / math.sqrt(pixels))


def tf_random_flip(image, axis):
    """tf.image.random_flip_left_right (axis -2) / random_flip_up_down (axis -3): each image of a
    batch flipped with probability 1/2 (TensorFlow's random stream is not reproduced)."""
    if image.dim() == 3:
        return torch.flip(image, dims=[axis]) if torch.rand(()) < 0.5 else image
    flips = (torch.rand(image.shape[0], device=image.device) < 0.5).view(-1, 1, 1, 1)
    return torch.where(flips, torch.flip(image, dims=[axis]), image)


def tf_random_contrast(image, lower, upper):
    """tf.image.random_contrast: one factor drawn uniformly from [lower, upper) for the call."""
    factor = float(torch.empty(()).uniform_(lower, upper))
    return tf_adjust_contrast(image, factor)


def tf_extract_patches(images, sizes, strides, rates, padding):
    """tf.image.extract_patches: (N, H, W, C) -> (N, rows, cols, kh * kw * C), each patch in
    (row, column, channel) order, TF's "SAME" padding with zeros."""
    kernel, step, dilation = list(sizes[1:3]), list(strides[1:3]), list(rates[1:3])
    x = images.movedim(-1, 1)
    if padding.upper() == "SAME":
        pads = []
        for size, k, s, d in zip(x.shape[2:], kernel, step, dilation):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        x = F.pad(x, (*pads[1], *pads[0]))
    n, c, height, width = x.shape
    rows = (height - (kernel[0] - 1) * dilation[0] - 1) // step[0] + 1
    cols = (width - (kernel[1] - 1) * dilation[1] - 1) // step[1] + 1
    patches = F.unfold(x, kernel, dilation=dilation, stride=step)  # (N, C * kh * kw, rows * cols)
    patches = patches.reshape(n, c, kernel[0] * kernel[1], rows, cols).permute(0, 3, 4, 2, 1)
    return patches.reshape(n, rows, cols, kernel[0] * kernel[1] * c)


def tf_sobel_edges(image):
    """tf.image.sobel_edges: (N, H, W, C) -> (N, H, W, C, 2), the (dy, dx) Sobel responses with
    reflected borders."""
    channels = image.shape[-1]
    kernels = torch.tensor(
        [[[-1, -2, -1], [0, 0, 0], [1, 2, 1]], [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]],
        dtype=image.dtype,
        device=image.device,
    )
    weight = kernels.repeat(channels, 1, 1).unsqueeze(1)  # output channel c * 2 + k, as TF's depthwise order
    x = F.pad(image.movedim(-1, 1), (1, 1, 1, 1), mode="reflect")
    y = F.conv2d(x, weight, groups=channels).movedim(1, -1)
    return y.reshape(*image.shape, 2)


def tf_ssim(img1, img2, max_val, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03, return_index_map=False):
    """tf.image.ssim: the structural similarity of each image pair (or its map), TensorFlow's
    Gaussian window ("VALID") and constants; the mean over the channels."""
    max_val = tf_convert_image_dtype(torch.as_tensor(max_val, dtype=img1.dtype), torch.float32)
    x, y = tf_convert_image_dtype(img1, torch.float32), tf_convert_image_dtype(img2, torch.float32)
    coords = torch.arange(filter_size, dtype=torch.float32) - (filter_size - 1) / 2.0
    g = torch.square(coords) * (-0.5 / filter_sigma**2)
    window = torch.softmax((g.reshape(1, -1) + g.reshape(-1, 1)).reshape(-1), dim=0).reshape(filter_size, filter_size)
    channels = x.shape[-1]
    weight = window.expand(channels, 1, filter_size, filter_size).to(x.device)

    def reducer(t):
        flat = t.reshape(-1, *t.shape[-3:]).movedim(-1, 1)
        out = F.conv2d(flat, weight, groups=channels).movedim(1, -1)
        return out.reshape(*t.shape[:-3], *out.shape[1:])

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mean0, mean1 = reducer(x), reducer(y)
    num0 = mean0 * mean1 * 2.0
    den0 = torch.square(mean0) + torch.square(mean1)
    luminance = (num0 + c1) / (den0 + c1)
    num1 = reducer(x * y) * 2.0
    den1 = reducer(torch.square(x) + torch.square(y))
    cs = (num1 - num0 + c2) / (den1 - den0 + c2)
    ssim = luminance * cs
    if not return_index_map:
        ssim = torch.mean(ssim, dim=(-3, -2))
    return torch.mean(ssim, dim=-1)
