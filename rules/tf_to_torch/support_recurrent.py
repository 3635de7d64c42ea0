"""Support code for translated Keras models (Keras -> PyTorch): recurrent layers.

KerasLSTM / KerasGRU / KerasSimpleRNN hold one batch-first torch nn.LSTM / nn.GRU / nn.RNN
(attribute ``rnn``), built on the first call from the input's feature size (or by
load_state_dict), and return what the Keras layer returns: the last output or the whole
sequence, followed by the final states when return_state=True. Keras' single bias is torch's
bias_ih (bias_hh = 0); a Keras GRU (reset_after=True) is torch's GRU with the gates reordered.
"""

import torch
import torch.nn.functional as F
from torch import nn


class KerasRecurrent(nn.Module):
    """The common part of KerasLSTM, KerasGRU and KerasSimpleRNN (``rnn_class`` = the torch RNN)."""

    rnn_class = nn.RNN

    def __init__(
        self,
        units,
        use_bias=True,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        dropout=0.0,
        **rnn_kwargs,
    ):
        super().__init__()
        self.config = dict(
            units=units,
            use_bias=use_bias,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            dropout=dropout,
            **rnn_kwargs,
        )
        self.units, self.use_bias, self.dropout = units, use_bias, dropout
        self.return_sequences, self.return_state, self.go_backwards = return_sequences, return_state, go_backwards
        self.rnn_kwargs = rnn_kwargs
        self.rnn = None

    def build(self, input_size, device=None, dtype=None):
        """Creates ``self.rnn`` for inputs of ``input_size`` features."""
        self.rnn = self.rnn_class(
            int(input_size),
            self.units,
            bias=self.use_bias,
            batch_first=True,
            device=device,
            dtype=dtype,
            **self.rnn_kwargs,
        )
        for name, parameter in self.rnn.named_parameters():
            if name.startswith("bias_hh"):  # Keras' one bias is bias_ih: bias_hh stays 0, untrained
                with torch.no_grad():
                    parameter.zero_()
                parameter.requires_grad_(False)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        weight = state_dict.get(prefix + "rnn.weight_ih_l0")
        if self.rnn is None and weight is not None:
            self.build(weight.shape[1], weight.device, weight.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def forward(self, x, initial_state=None, mask=None, training=None):
        if mask is not None:
            raise NotImplementedError("masked sequences (Keras masks) are not translated")
        if self.rnn is None:
            self.build(x.shape[-1], x.device, x.dtype if x.is_floating_point() else None)
        if self.go_backwards:
            x = x.flip(1)  # Keras then returns the sequence in processing (reversed) order
        training = self.training if training is None else training
        if self.dropout and training:
            # one input dropout mask per sequence, reused at every step, as Keras' cells do
            x = x * F.dropout(torch.ones_like(x[:, :1]), self.dropout, True)
        hx = None
        if initial_state is not None:
            states = [initial_state] if torch.is_tensor(initial_state) else list(initial_state)
            states = [s.unsqueeze(0) for s in states]
            hx = tuple(states) if self.rnn_class is nn.LSTM else states[0]
        y, state = self.rnn(x, hx)
        output = y if self.return_sequences else y[:, -1]
        if not self.return_state:
            return output
        states = state if isinstance(state, tuple) else (state,)
        return (output, *(s.squeeze(0) for s in states))


class KerasLSTM(KerasRecurrent):
    """keras.layers.LSTM (tanh / sigmoid): returns output, or (output, h, c) with return_state."""

    rnn_class = nn.LSTM


class KerasGRU(KerasRecurrent):
    """keras.layers.GRU with reset_after=True (Keras 3's default), which is torch's GRU:
    returns output, or (output, h) with return_state."""

    rnn_class = nn.GRU


class KerasSimpleRNN(KerasRecurrent):
    """keras.layers.SimpleRNN with activation "tanh" or "relu" (torch's nonlinearity)."""

    rnn_class = nn.RNN

    def __init__(
        self,
        units,
        use_bias=True,
        return_sequences=False,
        return_state=False,
        go_backwards=False,
        dropout=0.0,
        nonlinearity="tanh",
    ):
        super().__init__(
            units,
            use_bias=use_bias,
            return_sequences=return_sequences,
            return_state=return_state,
            go_backwards=go_backwards,
            dropout=dropout,
            nonlinearity=nonlinearity,
        )


class KerasBidirectional(nn.Module):
    """keras.layers.Bidirectional: ``forward_layer`` reads the sequence forwards, ``backward_layer``
    (by default a fresh copy of ``layer`` with go_backwards=True) backwards; the backward sequence
    is flipped back, then both are merged ("concat", "sum", "mul", "ave", or None: a pair).
    With return_state the forward layer's states follow the output, then the backward layer's."""

    def __init__(self, layer, merge_mode="concat", backward_layer=None):
        super().__init__()
        if merge_mode not in ("concat", "sum", "mul", "ave", None):
            raise ValueError(f"unknown merge_mode {merge_mode!r}")
        self.forward_layer = layer
        if backward_layer is None:
            backward_layer = type(layer)(**{**layer.config, "go_backwards": True})
        self.backward_layer = backward_layer
        self.merge_mode = merge_mode
        self.return_sequences, self.return_state = layer.return_sequences, layer.return_state

    def forward(self, x, initial_state=None, mask=None, training=None):
        forward_state = backward_state = None
        if initial_state is not None:
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(x, forward_state, mask, training)
        y_rev = self.backward_layer(x, backward_state, mask, training)
        states = ()
        if self.return_state:
            states = tuple(y[1:]) + tuple(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = y_rev.flip(1)
        if self.merge_mode == "concat":
            output = torch.cat([y, y_rev], dim=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = (y, y_rev)
        if self.return_state:
            return (output + states) if self.merge_mode is None else (output,) + states
        return output
