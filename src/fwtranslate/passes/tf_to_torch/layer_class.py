"""Subclassed Keras layers and models -> ``nn.Module`` (the base classes come from the rules).

- ``call(self, x, training=None, mask=None)`` -> ``forward(self, x)``; ``training`` read in the
  body -> ``self.training`` (torch modules carry the flag: ``model.train()/eval()``), and the
  ``training=`` argument of sub-layer calls goes (torch layers take no such argument);
- ``super().__init__(**kwargs)`` -> ``super().__init__()`` (nn.Module takes no ``name``/``dtype``);
- ``build(self, input_shape)``: Keras creates weights there on the first call; the translation
  keeps the method and calls it on the first ``forward`` (``self.built``), so parameters exist
  after one forward pass, like torch's Lazy modules;
- ``super().build(...)`` -> ``self.built = True``; ``super().get_config()`` -> ``{}``.
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import statement
from ...report import WARNING
from ..common.base import Pass

_DROPPED_CALL_ARGS = frozenset({"training", "mask"})


def _is_super_call(node: cst.BaseExpression, method: str) -> bool:
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == method
        and isinstance(node.func.value, cst.Call)
        and isinstance(node.func.value.func, cst.Name)
        and node.func.value.func.value == "super"
    )


def _params(params: cst.Parameters) -> list[cst.Param]:
    return [*params.posonly_params, *params.params, *params.kwonly_params]


class KerasLayerClass(Pass):
    def prepare(self, module: cst.Module) -> set[int]:
        """Every statement of a class's methods: ``training``/``super()`` lines carry no name the
        file's imports bind, so the pipeline would otherwise skip them."""
        keep: set[int] = set()
        self.functions = {
            s.name.value
            for s in module.body
            if isinstance(s, (cst.FunctionDef, cst.ClassDef)) and not (isinstance(s, cst.ClassDef) and s.bases)
        }
        for stmt in module.body:
            if isinstance(stmt, cst.ClassDef):
                keep.add(id(stmt))
                for fn in stmt.body.body:
                    if isinstance(fn, cst.FunctionDef):
                        keep.add(id(fn))
                        _collect_statements(fn.body, keep)
        return keep

    # --- where we are ---------------------------------------------------------------------------
    def _model_method(self) -> str | None:
        for fn in reversed(self.ctx.functions):
            if fn.owner is not None:
                return fn.name if fn.owner.is_module else None
        return None

    def _support_base(self) -> bool:
        """Whether the class of the method being rewritten derives from a framework class whose
        rule names a support base for subclasses (the ``base:`` field)."""
        for fn in reversed(self.ctx.functions):
            if fn.owner is not None:
                rule = self.ctx.rules.calls.get(fn.owner.source_base or "")
                return rule is not None and rule.subclass_base is not None
        return False

    def _in_call_method(self) -> bool:
        return self._model_method() == self.ctx.direction.entry_method[0]

    # --- call -> forward ------------------------------------------------------------------------
    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        if original.value != "training" or not self._in_call_method():
            return updated
        parent = self.ctx.parent()
        if (
            isinstance(parent, cst.Param)
            or (isinstance(parent, cst.Arg) and parent.keyword is original)
            or (isinstance(parent, cst.Attribute) and parent.attr is original)
        ):
            return updated
        return cst.Attribute(cst.Name("self"), cst.Name("training"))

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg):
        if (
            original.keyword is not None
            and original.keyword.value in _DROPPED_CALL_ARGS
            and self._model_method() is not None
        ):
            call = self.ctx.parent()
            if isinstance(call, cst.Call) and self._is_layer_call(call):
                return cst.RemoveFromParent()
        return updated

    def _is_layer_call(self, call: cst.Call) -> bool:
        """``self.block(x, training=training)``, ``block(x, training=...)`` (a layer from a list) or
        ``layers.Dropout(0.1)(x, training=...)``: a layer applied. Functions of the file and
        methods of the class keep their ``training`` parameter, so their calls keep the argument."""
        func = call.func
        if isinstance(func, cst.Call):
            return True
        if isinstance(func, cst.Name):
            return func.value not in self.functions
        cls = self.ctx.current_class
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
            return cls is None or not _defines(cls.node, func.attr.value)
        return self.ctx.resolve(func) is None  # `self.blocks[0](x, ...)`, `layer.call(...)`

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        fn = self.ctx.current_function
        cls = self.ctx.current_class
        if fn is None or fn.owner is None or not fn.owner.is_module or cls is None:
            return updated
        source_entry, target_entry = self.ctx.direction.entry_method
        name = original.name.value
        if name == source_entry:
            updated = updated.with_changes(name=cst.Name(target_entry), params=self._forward_params(updated))
            if _defines(cls.node, "build"):
                updated = _build_on_first_call(updated)
        elif name == "__init__" and _defines(cls.node, "build"):
            updated = _after_super_init(updated, statement("self.built = False  # build() runs on the first call\n"))
        return updated

    def _forward_params(self, fn: cst.FunctionDef) -> cst.Parameters:
        """Drop ``training`` (the module's own flag now) and an unused ``mask``."""
        params = fn.params
        body_code = cst.Module([]).code_for_node(fn.body)
        drop = {"training"}
        if "mask" not in body_code.replace("mask=None", ""):
            drop.add("mask")

        def keep(ps):
            kept = [p for p in ps if p.name.value not in drop]
            if kept and kept[-1].comma is not cst.MaybeSentinel.DEFAULT and len(kept) != len(ps):
                kept[-1] = kept[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            return kept

        params = params.with_changes(params=keep(params.params), kwonly_params=keep(params.kwonly_params))
        if not params.kwonly_params and isinstance(params.star_arg, cst.ParamStar):
            params = params.with_changes(star_arg=cst.MaybeSentinel.DEFAULT)
        return params

    # --- super() calls --------------------------------------------------------------------------
    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        if self._model_method() is None:
            return updated
        if len(updated.args) < len(original.args) and updated.args:  # a training= went
            last = updated.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            updated = updated.with_changes(args=[*updated.args[:-1], last])
        if _is_super_call(original, "__init__") and original.args and self._support_base():
            return updated  # a support base class (keras.layers.Wrapper's) takes Keras' arguments
        if _is_super_call(original, "__init__") and original.args:
            dropped = [a for a in original.args if a.star != "**"]
            if dropped:
                self.ctx.report(
                    original,
                    WARNING,
                    "super-init-arguments",
                    "arguments of the Keras base class (name=, dtype=, trainable=...) have no "
                    "nn.Module meaning and are dropped",
                )
            return updated.with_changes(args=[])
        if _is_super_call(original, "get_config"):
            return cst.Dict([])
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        """``self.blocks = [Block() for _ in range(n)]``: Keras tracks layers held in lists and
        dicts; torch only in nn.ModuleList / nn.ModuleDict."""
        if self._model_method() != "__init__" or len(original.targets) != 1:
            return updated
        target = original.targets[0].target
        if not (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
        ):
            return updated
        container = self._layer_container(original.value, target.attr.value)
        if container is None:
            return updated
        value = updated.value
        if isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value in ("list", "dict"):
            value = value.args[0].value
        return updated.with_changes(value=cst.Call(cst.parse_expression(container), [cst.Arg(value)]))

    def _layer_container(self, value: cst.BaseExpression, attr: str) -> str | None:
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Name)
            and value.func.value in ("list", "dict")
            and len(value.args) == 1
            and not value.args[0].keyword
        ):
            value = value.args[0].value  # list([...]): how a PyTorch -> Keras translation spells it
        if isinstance(value, (cst.List, cst.ListComp)):
            elements = [value.elt] if isinstance(value, cst.ListComp) else [e.value for e in value.elements]
            if (elements and all(self._makes_layer(e) for e in elements)) or (
                not elements and self._appends_layers(attr)
            ):
                return "nn.ModuleList"
        if isinstance(value, (cst.Dict, cst.DictComp)):
            values = [value.value] if isinstance(value, cst.DictComp) else [e.value for e in value.elements]
            if values and all(self._makes_layer(v) for v in values):
                return "nn.ModuleDict"
        return None

    def _makes_layer(self, node: cst.BaseExpression) -> bool:
        if not isinstance(node, cst.Call):
            return False
        qual = self.ctx.resolve(node.func)
        if qual is not None:
            return qual.startswith("keras.layers.") or qual in ("keras.Sequential", "keras.models.Sequential")
        return isinstance(node.func, cst.Name) and node.func.value in self.ctx.module_classes

    def _appends_layers(self, attr: str) -> bool:
        """``self.blocks = []`` followed by ``self.blocks.append(<a layer>)`` in __init__."""
        fn = next((f for f in reversed(self.ctx.functions) if f.name == "__init__"), None)
        cls = self.ctx.current_class
        if fn is None or cls is None or cls.node is None:
            return False
        found = []

        class V(cst.CSTVisitor):
            def visit_Call(inner, node: cst.Call) -> None:
                f = node.func
                if (
                    isinstance(f, cst.Attribute)
                    and f.attr.value == "append"
                    and isinstance(f.value, cst.Attribute)
                    and isinstance(f.value.value, cst.Name)
                    and f.value.value.value == "self"
                    and f.value.attr.value == attr
                    and node.args
                ):
                    found.append(self._makes_layer(node.args[0].value))

        for stmt in cls.node.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value == "__init__":
                stmt.visit(V())
        return bool(found) and all(found)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine):
        if self._model_method() is None or len(original.body) != 1:
            return updated
        small = original.body[0]
        if isinstance(small, cst.Expr) and _is_super_call(small.value, "build"):
            built = cst.Assign([cst.AssignTarget(cst.Attribute(cst.Name("self"), cst.Name("built")))], cst.Name("True"))
            return updated.with_changes(body=[built])
        return updated


def _defines(cls: cst.ClassDef | None, method: str) -> bool:
    return cls is not None and any(isinstance(s, cst.FunctionDef) and s.name.value == method for s in cls.body.body)


def _collect_statements(block, keep: set[int]) -> None:
    for stmt in getattr(block, "body", ()):
        keep.add(id(stmt))
        for attr in ("body", "orelse", "finalbody"):
            child = getattr(stmt, attr, None)
            if isinstance(child, (cst.IndentedBlock, cst.SimpleStatementSuite)):
                _collect_statements(child, keep)
            elif isinstance(child, (cst.Else, cst.Finally)):
                _collect_statements(child.body, keep)
            elif isinstance(child, cst.If):
                keep.add(id(child))
                _collect_statements(child.body, keep)
        for handler in getattr(stmt, "handlers", ()):
            _collect_statements(handler.body, keep)


def _after_super_init(fn: cst.FunctionDef, new: cst.BaseStatement) -> cst.FunctionDef:
    body = list(fn.body.body)
    at = 0
    for i, stmt in enumerate(body):
        if isinstance(stmt, cst.SimpleStatementLine) and any(
            isinstance(s, cst.Expr) and _is_super_call(s.value, "__init__") for s in stmt.body
        ):
            at = i + 1
            break
    body.insert(at, new)
    return fn.with_changes(body=fn.body.with_changes(body=body))


def _build_on_first_call(fn: cst.FunctionDef) -> cst.FunctionDef:
    params = _params(fn.params)
    if len(params) < 2:
        return fn
    first = params[1].name.value
    check = cst.parse_statement(
        f"if not self.built:  # Keras creates the weights on the first call\n"
        f"    self.build({first}.shape)\n    self.built = True\n"
    )
    body = list(fn.body.body)
    at = 1 if body and _is_docstring(body[0]) else 0
    body.insert(at, check)
    return fn.with_changes(body=fn.body.with_changes(body=body))


def _is_docstring(stmt) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
