"""Channels first outside, channels last inside (docs/torch_to_tf.md, "Layout").

PyTorch computes images channels first (N, C, H, W); Keras' layers are written for channels last
(N, H, W, C), and TensorFlow has no channels-first convolution on CPU outside XLA. Every spatial
rule is exact on its own (channels-first Keras layers; a convolution there is
``ChannelsFirstConv2D``, which computes channels last between two transposes). The shared layout
analysis (passes/common/layout_analysis.py) removes those moves where it can see the data flow:
in a module's ``forward``, in a helper function and in an ``nn.Sequential(...)``, the channel axis
moves once where a run of spatial layers starts and back where the code needs PyTorch's order
again (a flatten, a view, the model's output). The layers of the run are written as Keras writes
them: default ``data_format``, ``keras.layers.Conv2D``, batch norm on the last axis.

A layer runs channels last only where its translation has a channels-last form
(``channels_last``); the others (e.g. a pooling with ``ceil_mode``) stay channels first and the
analysis moves the axis around them.

A block class only applied by the file's other classes (``BasicBlock`` in ``ResNet``) takes and
returns channels-last tensors when that saves moves (a class contract, layout_blocks.py). The
option ``--layout`` (``ctx.layout``) chooses the models' own interface: ``torch``, PyTorch's
order; ``keras``, channels-last tensors in (and out, where the results are spatial maps);
``channels-first``, no plan at all: every layer exact on its own. A translation whose interface
is not PyTorch's says so in a header comment (layout_header.py), which verify reads.
"""

from __future__ import annotations

import re

import libcst as cst

from ...cstutil import expression
from ...imports import dotted_name
from ...layout_header import header
from ...report import INFO
from ...rules import apply
from ...rules.literals import UNKNOWN, literal_value
from ..common import layout
from ..common.layout_analysis import TO_NATIVE, LayoutConventions

# support classes of channels-first convolutions -> Keras' own layer (same kernel layout)
_KERAS_CONV = {f"ChannelsFirstConv{n}D{t}": f"keras.layers.Conv{n}D{t}" for n in (1, 2, 3) for t in ("", "Transpose")}
# layers whose only channels-first argument is ``axis=1``
_AXIS_ONE = frozenset({"keras.layers.BatchNormalization", "keras.layers.GroupNormalization"})
_CONTAINERS = frozenset({"keras.Sequential"})


def _spatial_names(rules) -> re.Pattern[str]:
    names = sorted(
        {name.rsplit(".", 1)[-1] for name, rule in rules.calls.items() if rule.layout in ("spatial", "spatial_to_flat")}
    )
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b" if names else r"(?!x)x")


def channels_last_axis(axis: int, rank: int) -> int:
    """A channels-first axis of a rank-``rank`` tensor, numbered for channels last."""
    k = axis % rank
    if k == 1:
        return -1
    return 0 if k == 0 else k - 1


def _permute(order: tuple[int, ...]) -> str:
    return f"keras.layers.Permute({order!r})"


def to_last_layer(rank: int) -> str:
    return _permute((*range(2, rank), 1))


def to_first_layer(rank: int) -> str:
    return _permute((rank - 1, *range(1, rank - 1)))


# support layers (rules/torch_to_tf/support_layers.py) that take Keras' data_format, channels last by default
_SUPPORT_POOLS = frozenset({"TorchMaxPool", "TorchAvgPool", "TorchAdaptivePool"})
# support layers channels first by default (their rules' outputs stay as they were): told channels last
_SUPPORT_FIRST = frozenset({"TorchUpsample", "torch_interpolate", "torch_adaptive_pool"})
# reductions over the spatial axes (F.adaptive_avg_pool2d(x, 1)): the last axes in PyTorch's order
_SPATIAL_REDUCTIONS = frozenset({"keras.ops.mean", "keras.ops.max"})


def channels_last(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """A spatial layer's translation, rewritten for channels-last data; None when some part of it
    has no channels-last form (a support layer written for channels first, a run-time choice)."""
    if not isinstance(node, cst.Call):
        return None
    name = dotted_name(node.func) or ""
    if name in _CONTAINERS:  # keras.Sequential([padding, conv])
        if len(node.args) != 1 or not isinstance(node.args[0].value, cst.List):
            return None
        layers = node.args[0].value
        elements = []
        for element in layers.elements:
            new = None if isinstance(element, cst.StarredElement) else channels_last(element.value)
            if new is None:
                return None
            elements.append(element.with_changes(value=new))
        return node.with_changes(args=[node.args[0].with_changes(value=layers.with_changes(elements=elements))])
    if name in _SPATIAL_REDUCTIONS:
        return _spatial_reduction(node)
    if name == "keras.ops.image.resize":  # data_format="channels_first" dropped: Keras' default
        return _without_channels_first(node)
    if name in _SUPPORT_FIRST:
        if any(a.star or (a.keyword is not None and a.keyword.value == "data_format") for a in node.args):
            return None
        return layout.set_keyword(node, "data_format", cst.SimpleString('"channels_last"'), None)
    if name not in _KERAS_CONV and name not in _SUPPORT_POOLS and not name.startswith("keras.layers."):
        return None
    args = []
    for arg in node.args:
        keyword = arg.keyword.value if arg.keyword is not None else None
        value = code_of(arg.value)
        if arg.star:
            return None
        if keyword == "data_format":
            if value.strip("\"'") != "channels_first":
                return None
            continue  # channels last is Keras' default
        if keyword == "in_channels" and name in _KERAS_CONV:
            continue
        if keyword == "axis":
            if name not in _AXIS_ONE or value != "1":
                return None  # an axis we do not know how to renumber
            continue
        args.append(arg)
    if args:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    func = expression(_KERAS_CONV[name]) if name in _KERAS_CONV else node.func
    return node.with_changes(func=func, args=args)


def _spatial_reduction(node: cst.Call) -> cst.Call | None:
    """``keras.ops.mean(x, axis=(-2, -1), keepdims=True)`` (the spatial axes, PyTorch's order) ->
    ``axis=(1, 2)``: the same axes channels last. Anything else has no known channels-last form."""
    axis = next((a for a in node.args if a.keyword is not None and a.keyword.value == "axis"), None)
    keep = any(
        a.keyword is not None and a.keyword.value == "keepdims" and code_of(a.value) == "True" for a in node.args
    )
    value = literal_value(axis.value) if axis is not None else UNKNOWN
    axes = (value,) if isinstance(value, int) else value
    if not keep or not isinstance(axes, tuple) or not axes or list(axes) != list(range(-len(axes), 0)):
        return None
    new = tuple(range(1, len(axes) + 1))
    return layout.set_keyword(node, "axis", expression(repr(new[0] if isinstance(value, int) else new)), None)


def _without_channels_first(node: cst.Call) -> cst.Call | None:
    args = [a for a in node.args if not (a.keyword is not None and a.keyword.value == "data_format")]
    if (
        len(args) == len(node.args) - 1
        and 'data_format="channels_first"' in code_of(node)
        and not any(a.star for a in args)
    ):
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        return node.with_changes(args=args)
    return None


def code_of(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def can_run_native(ctx, rule, ctor: cst.Call) -> bool:
    """The rule's translation of this constructor call has a channels-last form."""
    memo = ctx.layout_native
    if id(ctor) not in memo:
        node = apply(rule, ctor.args).node
        memo[id(ctor)] = node is not None and channels_last(node) is not None
    return memo[id(ctor)]


def can_adapt(ctx, rule, ctor: cst.Call) -> bool:
    """The rule's translation of a layer built from a class in a variable (``norm_layer(planes)``)
    is one that ``channels_last_norm`` adapts at run time: a normalization on axis 1."""
    key = -id(ctor)  # beside can_run_native's entries
    memo = ctx.layout_native
    if key not in memo:
        node = apply(rule, ctor.args).node
        memo[key] = (
            isinstance(node, cst.Call) and dotted_name(node.func) in _AXIS_ONE and channels_last(node) is not None
        )
    return memo[key]


CONVENTIONS = LayoutConventions(
    axis_param="dim",
    native_axis=channels_last_axis,
    sequential="torch.nn.Sequential",
    sequential_args=True,
    to_native_layer=to_last_layer,
    to_source_layer=to_first_layer,
    can_run_native=can_run_native,
    class_contracts=True,
    any_rank=frozenset({"torch.nn.Upsample", "torch.nn.functional.interpolate"}),
    can_adapt=can_adapt,
    adapter="channels_last_norm",
    block_adapter="channels_last_block",
    keep_param="keepdim",
    flatten="torch.flatten",
)


class Layout(layout.Layout):
    conventions = CONVENTIONS
    contract_note = "# fwtranslate: channels-last tensors in and out (Keras' layout); callers here move the axis"
    keep_note = "# fwtranslate: channels-last tensors in, and out where the results are spatial maps (--layout keras)"

    @property
    def native_interface(self) -> bool:  # type: ignore[override]
        return self.ctx.layout == "keras"

    @classmethod
    def reads_whole_tree(cls, source: str, rules) -> bool:
        """Only a file that names a spatial layer has a layout to plan; the others keep the fast
        paths (stand-ins, pieces)."""
        return _spatial_names(rules).search(source) is not None

    def prepare(self, module: cst.Module) -> set[int]:
        if not self.reads_whole_tree(self.ctx.source, self.ctx.rules):
            return set()  # no spatial layer: nothing to plan (and the tree may hold stand-ins)
        if self.ctx.layout == "channels-first":  # every spatial rule is exact on its own
            return set()
        try:
            visit = super().prepare(module)
        except RecursionError:  # absurdly nested code: every layer stays exact on its own
            self.plan = self.ctx.layout_plan = None
            return set()
        plan = self.plan
        if plan is not None and (plan.native or plan.list_inserts or plan.before or plan.after or plan.wrap):
            self.ctx.target_imports.add("import keras")
        return visit

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        """The header comment, where the interface is not PyTorch's own (a class contract or a
        --layout other than torch) in a file with spatial layers."""
        plan = self.plan
        interfaces = plan.interfaces if plan is not None else {}
        if self.ctx.piece or not self.reads_whole_tree(self.ctx.source, self.ctx.rules):
            return updated
        if self.ctx.layout == "torch" and not interfaces:
            return updated
        line = cst.EmptyLine(comment=cst.Comment(header(self.ctx.layout, interfaces)))
        return updated.with_changes(header=[*updated.header, line])

    def conversion(self, var: str, direction: str) -> str:
        if direction == TO_NATIVE:
            return f"{var} = keras.ops.moveaxis({var}, 1, -1)  # channels first -> last: Keras' layout below\n"
        return f"{var} = keras.ops.moveaxis({var}, -1, 1)  # channels last -> first: PyTorch's order again\n"


class LayoutWrap(layout.LayoutWrap):
    def convert(self, value: cst.BaseExpression, direction: str) -> cst.BaseExpression:
        source, target = ("1", "-1") if direction == TO_NATIVE else ("-1", "1")
        comma = cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return cst.Call(
            expression("keras.ops.moveaxis"),
            [cst.Arg(value, comma=comma), cst.Arg(expression(source), comma=comma), cst.Arg(expression(target))],
        )

    def leave_Call(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = self.ctx.layout_plan
        if plan is not None and id(original) not in plan.native and updated is not original:
            rule = self.ctx.rules.calls.get(self.ctx.resolve(original.func) or "")
            # a layer, not a function (F.interpolate on PyTorch-ordered data is plain ops, no channels-first layer)
            if (
                rule is not None
                and rule.name.rsplit(".", 1)[-1][:1].isupper()
                and rule.layout in ("spatial", "spatial_to_flat")
            ):
                self.ctx.report(original, INFO, "layout", _why_channels_first(self.ctx, rule, original))
        return super().leave_Call(original, updated)

    def after_rules(self, original: cst.Call, updated: cst.BaseExpression) -> cst.BaseExpression:
        plan = self.ctx.layout_plan
        if plan is not None and id(original) in plan.adapt:  # norm_layer(planes): adapted when built
            return cst.Call(expression("channels_last_norm"), [cst.Arg(updated)])
        flipped = channels_last(updated)
        if flipped is None:  # the analysis checked it could: a rule changed under us
            return updated
        self.ctx.maybe_unused_helpers |= set(_KERAS_CONV) & set(_names_in(updated))
        return flipped


def _why_channels_first(ctx, rule, ctor: cst.Call) -> str:
    name = rule.name.rsplit(".", 1)[-1]
    if not can_run_native(ctx, rule, ctor):
        return f"{name} stays channels first: its translation has no channels-last form (correct, slower)"
    return (
        f"{name} stays channels first: the layout analysis does not follow all the data it sees "
        "(it follows layers built in __init__, by factory functions or in nn.Sequential, used only "
        "by forward and the methods it calls, fed from one layout)"
    )


def _names_in(node: cst.CSTNode) -> list[str]:
    found: list[str] = []

    class V(cst.CSTVisitor):
        def visit_Name(self, n: cst.Name) -> None:
            found.append(n.value)

    node.visit(V())
    return found
