"""Scope bookkeeping: the class / function being translated and the names bound locally."""

from __future__ import annotations

import libcst as cst

from ...imports import bound_names, target_names
from .base import Pass
from .context import ClassInfo, FunctionInfo


def _param_names(params: cst.Parameters) -> frozenset[str]:
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.append(star.name.value)
    return frozenset(names)


def _has_base_rule(ctx, qual: str) -> bool:
    """A framework layer class whose rule names a base for subclasses (``class
    LayerNorm2d(nn.LayerNorm)``): the subclass is a layer too (its forward becomes call)."""
    rule = ctx.rules.calls.get(qual)
    return rule is not None and rule.subclass_base is not None


class ScopeTracker(Pass):
    """Runs first on visit and last on leave, so other passes see the enclosing scopes."""

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        ctx = self.ctx
        is_module = direct = False
        source_base = None
        for base in node.bases:
            qual = ctx.resolve(base.value)
            if qual is not None and (qual in ctx.direction.model_bases or _has_base_rule(ctx, qual)):
                is_module, source_base, direct = True, qual, True
            elif isinstance(base.value, cst.Name) and base.value.value in ctx.module_classes:
                is_module = True
                source_base = ctx.module_classes[base.value.value].source_base
        info = ClassInfo(node.name.value, is_module, node=node, source_base=source_base, direct_base=direct)
        if is_module:
            ctx.module_classes[info.name] = info
        ctx.classes.append(info)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self.ctx.classes.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        ctx = self.ctx
        owner = ctx.current_class
        # a function nested in a method belongs to no class
        if ctx.functions and ctx.functions[-1].owner is not None:
            owner = None
        ctx.functions.append(FunctionInfo(node.name.value, owner))
        # parameters and every name the body assigns are local in the whole function
        ctx.scopes.append(_param_names(node.params) | bound_names(node.body.body, ctx.imports.nested_imports))

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self.ctx.functions.pop()
        self.ctx.scopes.pop()
        return updated

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.ctx.scopes.append(_param_names(node.params))

    def leave_Lambda(self, original: cst.Lambda, updated: cst.Lambda) -> cst.Lambda:
        self.ctx.scopes.pop()
        return updated

    # comprehension variables: `[nn.f(x) for nn in ...]` does not use the imported nn
    def _visit_comp(self, node) -> None:
        names: list[str] = []
        comp = node.for_in
        while comp is not None:
            names.extend(target_names(comp.target))
            comp = comp.inner_for_in
        self.ctx.scopes.append(frozenset(names))

    def _leave_comp(self, original, updated):
        self.ctx.scopes.pop()
        return updated

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _visit_comp
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_comp

    def visit_Call(self, node: cst.Call) -> None:
        cls = self.ctx.current_class
        if cls is not None and cls.is_module and isinstance(node.func, cst.Name):
            self.ctx.instantiated.add(node.func.value)

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        cls = self.ctx.current_class
        if (
            cls is not None
            and isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
        ):
            cls.assigns.add(target.attr.value)
