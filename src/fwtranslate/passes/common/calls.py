"""The generic rewriter driven by the rule files: framework calls, Tensor methods, attributes.

- ``nn.Linear(8, 4)``, ``F.relu(x)``, ``torch.cat(xs, 1)``: the callee resolves (through the
  import map) to a qualified name with a rule;
- ``x.view(b, -1)``: a method with a ``Tensor.<name>`` rule (or a function rule marked
  ``method: true``) on a receiver that may be a tensor;
- ``torch.float32``, ``x.shape``: attribute rules.

Anything that resolves to the source framework and has no rule is left as it is, marked in
the output and reported.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression
from ...imports import dotted_name
from ...report import ERROR
from ...rules import Rule, apply
from ...rules.factories import factory_function
from ...rules.signature import BindError, bind
from ...rules.template import MACRO_DROPS, MACRO_OPTIONAL
from .base import Pass
from .context import Context
from .receivers import LITERALS, TENSOR, is_model, is_plain, kind_of

# Python containers' method names: called as a statement (result discarded) on something that
# may be a tensor, such a method (`seen.add(x)`) is the container's, not a tensor's
# Tensor methods whose names Python objects share (dict.values, list.sort/index, str.index...): a
# declaration of one (untranslated_torch.yaml) is reported only on a name known to hold a tensor
SHARED_WITH_PYTHON = frozenset(["values", "index", "sort", "put", "resize", "new", "backward"])
_CONTAINER_METHODS = frozenset(n for t in (list, set, dict) for n in dir(t) if not n.startswith("_"))


class CallRewriter(Pass):
    # --- subtrees we never rewrite -------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False

    # --- calls --------------------------------------------------------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        ctx = self.ctx
        if id(original) in ctx.skip:
            return updated
        qual = ctx.resolve(original.func)
        if qual is not None:
            rule = ctx.rules.calls.get(qual)
            if rule is None:
                _report_missing(ctx, original, qual)
                ctx.keep_framework_name(original.func)
                return updated
            if any(a.star for a in updated.args) and not _binds(rule, updated.args):
                # `nn.Dropout(p, **params)`: the arguments are known only at run time, so the
                # factory (the source signature, binding at run time) builds the layer
                name = self._factory(qual, rule)
                if name is not None:
                    return updated.with_changes(func=cst.Name(name))
            return self._apply(rule, original, updated, updated.args, None)
        func = original.func
        if isinstance(func, cst.Attribute) and not self._is_submodule_call(func):
            name = func.attr.value
            rule = ctx.rules.methods.get(name)
            if rule is not None and not rule.is_module_member and not self._may_be_tensor(func.value):
                return updated
            if rule is not None and rule.model_receiver and not is_model(ctx, func.value):
                return updated  # `df.apply(f)`: only a known model's method is translated
            if rule is not None and _is_super(func.value):
                return updated  # `super().build(...)`: the base class's method, the structural passes' business
            if rule is None and not self._may_be_tensor(func.value):
                return updated
            inplace = rule is not None and rule.inplace
            if rule is None and name.endswith("_") and not name.endswith("__"):
                rule = ctx.rules.methods.get(name[:-1])
                inplace = rule is not None
                if rule is None and not is_plain(ctx, func.value):
                    # `x.fill_(v)` left as it is would fail on an immutable Keras tensor
                    ctx.report(
                        original, ERROR, "inplace-method", f"{name}() updates a tensor in place and has no translation"
                    )
                    return updated
            if rule is None and not is_plain(ctx, func.value):
                declared = ctx.rules.untranslated.get(f"Tensor.{name}")
                if name in SHARED_WITH_PYTHON and not _known_tensor(ctx, func.value):
                    declared = None  # `d.values()`, `names.sort()`: said only of a known tensor
                if declared is not None:  # a declared one: say why where it is used
                    why = declared.untranslated
                    ctx.report(original, ERROR, "not-translated", f"Tensor.{name} is not translated: {why}")
                return updated
            if rule is None or is_plain(ctx, func.value):
                return updated  # `args.eval()` on an argparse namespace: not a framework object
            if not inplace and name in _CONTAINER_METHODS and isinstance(ctx.parent(), cst.Expr):
                return updated  # `seen.add(x)` as a statement: a tensor's result would be discarded
            if rule is not None:
                receiver = updated.func.value  # type: ignore[attr-defined]
                result = self._apply(rule, original, updated, updated.args, receiver)
                if inplace and result is not updated:
                    inner = original.func.value  # type: ignore[attr-defined]
                    if id(inner) in ctx.inplace:  # `img.sub_(a).div_(b)`: both update img
                        receiver = ctx.inplace.pop(id(inner))
                        ctx.inplace_source.pop(id(inner), None)
                    ctx.inplace[id(original)] = receiver
                    ctx.inplace_source[id(original)] = updated
                return result
        return updated

    def apply_rule(self, rule, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        """``rule`` applied to a call a pass synthesised (fit_loop.py: ``compile(optimizer="adam")``
        means ``keras.optimizers.Adam()``), reported and with its support code like any other."""
        return self._apply(rule, original, updated, updated.args, None)

    def _apply(
        self, rule: Rule, original: cst.Call | cst.Attribute | cst.Name, updated: cst.BaseExpression, args, receiver
    ) -> cst.BaseExpression:
        ctx = self.ctx
        outcome = apply(
            rule,
            args,
            receiver,
            input_size=ctx.input_sizes.get(id(original)),
            input_rank=ctx.input_ranks.get(id(original)),
        )
        for severity, rule_code, message in outcome.messages:
            ctx.report(original, severity, rule_code, message)
        if outcome.node is None:
            target = original.func if isinstance(original, cst.Call) else original
            if ctx.resolve(target) is not None:
                ctx.keep_framework_name(target)
            return updated
        node = outcome.node
        for variant in outcome.variants:  # only the support code the chosen variants call
            optional = variant.helpers & MACRO_OPTIONAL
            ctx.helpers_used |= variant.helpers - optional
            for helper in variant.helpers & MACRO_DROPS.keys():  # `keras.Input` dropped from a Sequential list
                ctx.maybe_unused_helpers |= MACRO_DROPS[helper]
            if optional:  # a macro may or may not have emitted them: look
                emitted = code(node)
                ctx.helpers_used |= {h for h in optional if h in emitted}
        ctx.target_imports.update(rule.imports)
        if updated.lpar and hasattr(node, "lpar"):  # keep the source's own parentheses
            node = node.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        if isinstance(updated, cst.Call) and _multiline(updated) and "#" in code(updated):
            # the template rebuilds the argument list: comments written between the arguments
            # would vanish, so they move above the statement
            kept = _comments(node)
            for comment in _comments(updated):
                if comment in kept:
                    kept.remove(comment)
                else:
                    ctx.pending_marks.append(comment)
        return node

    def _may_be_tensor(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, LITERALS):  # certainly not tensors
            return False
        if isinstance(receiver, cst.Name) and receiver.value in ("self", "cls", "super"):
            return False
        if isinstance(receiver, cst.Name) and receiver.value in self.ctx.imports.bindings:
            return False  # a local that shadows `nn`/`F`/`torch`: named like a module, not a tensor
        root = receiver
        while isinstance(root, cst.Attribute):
            root = root.value  # `os.path.split(p)`, `np.linalg.norm(x)`: a module's function
        if (
            isinstance(root, cst.Name)
            and root.value in self.ctx.imports.module_aliases
            and dotted_name(receiver) is not None
            and not any(root.value in scope for scope in self.ctx.scopes)
        ):
            return False  # `import mylib.functional as F`: F.relu(x) is that module's function
        if _is_super(receiver):
            return False
        return self.ctx.resolve(receiver) is None  # else a framework module or class, not a tensor

    def _is_submodule_call(self, node: cst.Attribute) -> bool:
        """``self.block.norm(x)``: a call of a sub-layer that happens to share a Tensor method's
        name (any attribute assigned as ``self.norm = ...`` in this file)."""
        root = node.value
        while isinstance(root, (cst.Attribute, cst.Subscript)):
            root = root.value
        return isinstance(root, cst.Name) and root.value == "self" and node.attr.value in self.ctx.self_attrs

    # --- attribute and name references ----------------------------------------------------
    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute) -> cst.BaseExpression:
        ctx = self.ctx
        parent = ctx.parent()
        if isinstance(parent, cst.Attribute) and parent.value is original:
            return updated  # inner part of a longer chain: the chain is handled whole
        if isinstance(parent, cst.Call) and parent.func is original:
            return updated  # handled by leave_Call
        if id(original) in ctx.skip:
            return updated  # a pass handles it whole (torch_to_tf/statements.py: backend settings)
        qual = ctx.resolve(original)
        if qual is not None:
            return self._reference(qual, original, updated)
        rule = ctx.rules.members.get(original.attr.value)
        if (
            rule is not None
            and (
                rule.is_module_member
                or (
                    self._may_be_tensor(original.value)
                    and not (isinstance(original.value, cst.Name) and original.value.value == "self")
                )
            )
            and not is_plain(ctx, original.value)  # `args.data`: an argparse namespace's field
        ):
            if isinstance(parent, (cst.AssignTarget, cst.AugAssign)):
                return updated
            return self._apply(rule, original, updated, (), updated.value)
        return updated

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        ctx = self.ctx
        parent = ctx.parent()
        if isinstance(parent, cst.Attribute):
            return updated  # either the head of a chain (handled whole) or an attribute name
        if isinstance(parent, cst.Call) and parent.func is original:
            return updated
        if isinstance(parent, (cst.FunctionDef, cst.ClassDef, cst.AsName, cst.ImportAlias, cst.Global, cst.Nonlocal)):
            return updated
        if isinstance(parent, cst.Param) and parent.name is original:
            return updated  # the parameter's own name; its default (`norm=LayerNorm`) is a reference
        if isinstance(parent, cst.Arg) and parent.keyword is original:
            return updated
        if isinstance(parent, cst.AssignTarget):
            return updated
        qual = ctx.resolve(original)
        if qual is None:
            return updated
        return self._reference(qual, original, updated)

    def _reference(self, qual: str, original, updated) -> cst.BaseExpression:
        ctx = self.ctx
        rule = ctx.rules.attributes.get(qual)
        if rule is not None:
            return self._apply(rule, original, updated, (), None)
        rule = ctx.rules.calls.get(qual)
        if rule is not None:
            # a class or function used as a value, not called here
            use = self._class_use()
            if use is not None:
                target = rule.subclass_base if use == "base" and rule.subclass_base else rule.target_class
                if target is not None:
                    if target in ctx.rules.support.files:  # a support class: copied into the output
                        ctx.helpers_used.add(target)
                    return expression(target)
            else:
                name = self._factory(qual, rule)
                if name is not None:
                    return cst.Name(name)
        _report_missing(ctx, original, qual)
        ctx.keep_framework_name(original)
        return updated

    def _class_use(self) -> str | None:
        """ "base" or "isinstance" when the reference being left is a base class or a class test
        (``isinstance(m, (nn.Conv2d, ...))``), where a class is meant rather than a factory."""
        parents = self.ctx.parents
        for i in range(len(parents) - 2, max(len(parents) - 5, -1), -1):
            node = parents[i]
            if isinstance(node, cst.Arg) and i > 0:
                owner = parents[i - 1]
                if isinstance(owner, cst.ClassDef):
                    return "base"
                if (
                    isinstance(owner, cst.Call)
                    and isinstance(owner.func, cst.Name)
                    and owner.func.value in ("isinstance", "issubclass")
                    and len(owner.args) > 1
                    and owner.args[1] is node
                ):
                    return "isinstance"
                return None
            if not isinstance(node, (cst.Tuple, cst.Element)):
                return None
        return None

    def _factory(self, qual: str, rule: Rule) -> str | None:
        ctx = self.ctx
        if qual in ctx.factories:
            return ctx.factories[qual][0]
        name = qual.rsplit(".", 1)[1]
        if name in ctx.imports.local_names or name in ctx.rules.support.files:
            name = f"torch_{name}"
        fn = factory_function(rule, name)
        if fn is None:
            return None
        ctx.factories[qual] = (name, fn)
        ctx.helpers_used |= rule.helpers
        ctx.target_imports.update(rule.imports)
        return name

    # --- annotations: framework types have no target equivalent; they are dropped ---------
    def visit_Annotation(self, node: cst.Annotation) -> bool:
        if _mentions_framework(self.ctx, node.annotation):
            self.ctx.skip.add(id(node))
            return False
        return True


def _is_super(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "super"


def _binds(rule: Rule, args) -> bool:
    """Can the call's arguments be matched to the rule's signature at translation time?"""
    if rule.signature is None:
        return True
    try:
        bind(rule.signature, args, None)
    except BindError:
        return False
    return True


def _has_newline(*nodes) -> bool:
    return any(isinstance(n, cst.ParenthesizedWhitespace) for n in nodes)


def _multiline(call: cst.Call) -> bool:
    """Whether a call's argument list (or a list/tuple/dict literal passed to it) spans lines:
    only then can it hold comments. Looks at whitespace fields only, no walk."""
    if _has_newline(call.whitespace_before_args):
        return True
    for arg in call.args:
        comma = arg.comma
        if _has_newline(arg.whitespace_after_arg) or (
            isinstance(comma, cst.Comma) and _has_newline(comma.whitespace_before, comma.whitespace_after)
        ):
            return True
        value = arg.value
        if isinstance(value, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
            brackets = [getattr(value, a, None) for a in ("lbracket", "lbrace", "lpar")]
            if any(
                b is not None and not isinstance(b, (list, tuple)) and _has_newline(b.whitespace_after)
                for b in brackets
            ):
                return True
            for e in value.elements:
                c = e.comma
                if isinstance(c, cst.Comma) and _has_newline(c.whitespace_before, c.whitespace_after):
                    return True
    return False


def _comments(node: cst.CSTNode) -> list[str]:
    found: list[str] = []

    class _V(cst.CSTVisitor):
        def visit_Comment(self, n: cst.Comment) -> None:
            found.append(n.value)

    node.visit(_V())
    return found


def _mentions_framework(ctx, node: cst.CSTNode) -> bool:
    if isinstance(node, (cst.Name, cst.Attribute)):  # most annotations: `int`, `Tensor`, `torch.Tensor`
        return ctx.resolve(node) is not None
    visitor = _FrameworkMention(ctx)
    node.visit(visitor)
    return visitor.found


class _FrameworkMention(cst.CSTVisitor):
    """Does an annotation mention the framework: a name or dotted name that resolves to it, or a
    forward reference ("torch.Tensor") that starts with one of its names?"""

    def __init__(self, ctx):
        super().__init__()
        self.ctx, self.found = ctx, False

    def on_visit(self, node: cst.CSTNode) -> bool:
        return not self.found and super().on_visit(node)

    def visit_Name(self, n: cst.Name) -> None:
        self.found = self.ctx.resolve(n) is not None

    def visit_Attribute(self, n: cst.Attribute) -> bool:
        self.found = self.ctx.resolve(n) is not None
        return False

    def visit_SimpleString(self, n: cst.SimpleString) -> None:  # "torch.Tensor" forward refs
        text = n.value.strip("'\"")
        head = text.split(".", 1)[0].split("[", 1)[0]
        self.found = head in self.ctx.imports.bindings


def _report_missing(ctx, node: cst.CSTNode, qual: str) -> None:
    """A source-framework name with no rule: its declared reason (``untranslated:``) or "no rule"."""
    declared = ctx.rules.untranslated.get(qual)
    if declared is not None:
        ctx.report(node, ERROR, "not-translated", f"{qual} is not translated: {declared.untranslated}")
    else:
        ctx.report(node, ERROR, "no-rule", f"{qual} has no translation rule")


def _known_tensor(ctx: Context, receiver: cst.BaseExpression) -> bool:
    return isinstance(receiver, cst.Name) and kind_of(ctx, receiver.value) == TENSOR
