"""Plain-Python stand-ins for torch runtime checks."""


def ensure(condition, message):
    """torch._assert: raise AssertionError(message) unless condition holds."""
    if not condition:
        raise AssertionError(message)


def torch_home():
    """torch.hub._get_torch_home: $TORCH_HOME, else $XDG_CACHE_HOME/torch (~/.cache/torch).
    Only a path: nothing is read or written."""
    import os

    return os.path.expanduser(os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch")))


def load_torch_checkpoint(url, *args, **kwargs):
    """torch.hub.load_state_dict_from_url / torch.utils.model_zoo.load_url: downloads a PyTorch
    checkpoint. A Keras model cannot load it as it is: raises NotImplementedError."""
    raise NotImplementedError(
        f"the original downloads a PyTorch checkpoint ({url}); the translation does not: build the model "
        "without pretrained weights and convert the checkpoint with `fwtranslate weights`"
    )
