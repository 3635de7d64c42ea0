"""Framework imports and device placement, in one place.

Keras must see KERAS_BACKEND before its first import, and TensorFlow's C++ logging is noise
for a command-line tool; every module of the verifier gets the frameworks from here.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def frameworks():
    """(torch, tensorflow, keras), imported once."""
    import keras
    import tensorflow as tf
    import torch

    tf.get_logger().setLevel("ERROR")  # per-shape retracing is intended here, not a warning
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"KERAS_BACKEND is {keras.backend.backend()!r}; the verifier needs 'tensorflow'")
    return torch, tf, keras


def keras_leaf(v):
    """A Keras output's array (``flatten``'s leaf test): a tensor, a Variable's value, else None."""
    _, tf, keras = frameworks()
    if isinstance(v, keras.Variable):
        return v.value
    return v if tf.is_tensor(v) else None


@dataclass(frozen=True)
class Device:
    """Where both frameworks run. ``gpu``: TF32 is switched off on both sides, since it alone
    moves float32 results by ~1e-3, far past the tolerances."""

    kind: str  # "cpu" | "gpu"

    @property
    def torch(self) -> str:
        return "cuda" if self.kind == "gpu" else "cpu"

    @property
    def tf(self) -> str:
        return "/GPU:0" if self.kind == "gpu" else "/CPU:0"

    def scope(self):
        """Context placing TensorFlow ops (and Keras variables) on this device."""
        _, tf, _ = frameworks()
        return tf.device(self.tf)

    @property
    def use_xla(self) -> bool:
        # On CPU, TensorFlow has no kernel for channels_first convolutions outside XLA (execution.py).
        return self.kind == "cpu"


def choose_device(request: str = "auto") -> Device:
    torch, tf, _ = frameworks()
    request = (request or "auto").lower()
    if request not in ("auto", "cpu", "gpu", "cuda"):
        raise ValueError(f"unknown device {request!r} (choose cpu, gpu or auto)")
    has_gpu = torch.cuda.is_available() and bool(tf.config.list_physical_devices("GPU"))
    if request in ("gpu", "cuda") and not has_gpu:
        raise ValueError("device gpu requested, but torch and TensorFlow do not both see a GPU")
    device = Device("gpu" if has_gpu and request != "cpu" else "cpu")
    if device.kind == "gpu":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        tf.config.experimental.enable_tensor_float_32_execution(False)
    return device


@contextlib.contextmanager
def torch_beside_tensorflow():
    """torch settings for running beside TensorFlow in one process, put back afterwards.

    * Threads: TensorFlow's thread pools and torch's OpenMP threads compete for the same cores
      (on 2 cores torch's forward got 6x slower once TensorFlow was up): torch gets half of them.
    * oneDNN (mkldnn): both frameworks carry their own copy, and with TensorFlow's loaded torch's
      oneDNN convolutions corrupted the heap now and then (glibc "free(): invalid pointer" in
      ``ideep::tensor::~tensor``, SIGSEGV in autograd), in the training phase of about one run in
      two on some models (tests/tf_to_torch/test_random_keras_models.py, models 1 and 15). torch's
      own CPU kernels give the same results (about 1.6x slower on a 3x3 convolution stack).
    """
    torch, _, _ = frameworks()
    old = torch.get_num_threads()
    old_mkldnn = torch.backends.mkldnn.enabled
    torch.set_num_threads(max(1, min(old, (os.cpu_count() or 2) // 2)))
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.set_num_threads(old)
        torch.backends.mkldnn.enabled = old_mkldnn


@contextlib.contextmanager
def floatx(name: str):
    """Keras' default float type while layers are built (``float64`` for double precision).

    Keras caches its global dtype policy from floatx the first time a layer is made, so the
    policy is set too (and both are restored)."""
    _, _, keras = frameworks()
    old, old_policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(name)
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_floatx(old)
        keras.config.set_dtype_policy(old_policy)
