"""Channels last outside, channels first inside (docs/tf_to_torch.md).

Keras computes images channels last (N, H, W, C); torch's convolutions, pooling and batch norm
want channels first (N, C, H, W). Every spatial rule is exact on its own (its default variant
wraps the torch module in ``ChannelsLast``, which moves the channel axis around that one
layer). The shared layout analysis (passes/common/layout_analysis.py) removes those moves where
it can see the data flow: in a layer's ``call``, in a function, and in a
``keras.Sequential([...])`` list, the channel axis moves once where a run of spatial layers
starts and back where the code needs Keras' order again; the layers of the run get
``data_format="channels_first"`` (and renumbered ``axis=`` arguments), so their rules emit plain
channels-first torch modules.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import expression
from ..common import layout
from ..common.layout_analysis import TO_NATIVE, LayoutConventions


def channels_first_axis(axis: int, rank: int) -> int:
    """A channels-last axis of a rank-``rank`` tensor, numbered for channels first."""
    k = axis % rank
    if k == rank - 1:
        return 1
    return 0 if k == 0 else k + 1


CONVENTIONS = LayoutConventions(
    axis_param="axis",
    native_axis=channels_first_axis,
    sequential="keras.Sequential",
    sequential_args=False,
    to_native_layer=lambda rank: "ToChannelsFirst()",
    to_source_layer=lambda rank: "ToChannelsLast()",
    inputs=frozenset({"keras.Input"}),
)


class Layout(layout.Layout):
    conventions = CONVENTIONS
    contract_note = "# fwtranslate: channels-first tensors in and out (torch layout); callers here move the axis"

    def conversion(self, var: str, direction: str) -> str:
        if direction == TO_NATIVE:
            return f"{var} = {var}.movedim(-1, 1)  # channels last -> first: torch's layout for the layers below\n"
        return f"{var} = {var}.movedim(1, -1)  # channels first -> last: Keras' order again\n"

    def mark_native(self, call: cst.Call) -> cst.Call:
        return layout.set_keyword(call, "data_format", cst.SimpleString('"channels_first"'), None)


class LayoutWrap(layout.LayoutWrap):
    def convert(self, value: cst.BaseExpression, direction: str) -> cst.BaseExpression:
        source, target = ("-1", "1") if direction == TO_NATIVE else ("1", "-1")
        return cst.Call(
            cst.Attribute(layout.parenthesized(value), cst.Name("movedim")),
            [cst.Arg(expression(source)), cst.Arg(expression(target))],
        )
