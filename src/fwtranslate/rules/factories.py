"""Factories: a source class used as a value (``norm_layer=nn.BatchNorm2d``,
``partial(nn.BatchNorm2d, eps=1e-3)``) becomes a function with the source signature that
builds the target layer, generated from the class's own rule.

Inside a factory every argument is a runtime value, so the rule's ``when`` variants become
``A if cond else B`` and its ``when_known`` variants (translation-time shortcuts) are skipped.
"""

from __future__ import annotations

import libcst as cst

from .literals import UNKNOWN, to_node
from .model import Rule, choose_variant
from .signature import REQUIRED, BoundArg, Opaque


def _param(name: str, default) -> cst.Param:
    if default is REQUIRED:
        return cst.Param(cst.Name(name))
    node = cst.parse_expression(default.source) if isinstance(default, Opaque) else to_node(default)
    tight = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))
    return cst.Param(cst.Name(name), default=node, equal=tight)


def factory_function(rule: Rule, name: str) -> cst.FunctionDef | None:
    """``def <name>(<source signature>): return <target>``, or None if the rule can't make one."""
    if rule.signature is None:
        return None
    params: list[cst.Param] = []
    kwonly: list[cst.Param] = []
    star: cst.Param | cst.ParamStar | cst.MaybeSentinel = cst.MaybeSentinel.DEFAULT
    star_kw: cst.Param | None = None
    bound: dict[str, BoundArg] = {}
    for p in rule.signature.params:
        ref = cst.Name(p.name)
        if p.kind == "positional":
            params.append(_param(p.name, p.default))
            bound[p.name] = BoundArg(ref, True, UNKNOWN)
        elif p.kind == "keyword":
            kwonly.append(_param(p.name, p.default))
            bound[p.name] = BoundArg(ref, True, UNKNOWN)
        elif p.kind == "varargs":
            star = cst.Param(cst.Name(p.name))
            bound[p.name] = BoundArg(
                cst.Tuple([cst.StarredElement(ref)]), True, UNKNOWN, elements=(cst.StarredElement(ref),)
            )
        else:
            star_kw = cst.Param(cst.Name(p.name))
            bound[p.name] = BoundArg(
                cst.Dict([cst.StarredDictElement(ref)]), True, UNKNOWN, keywords=(cst.Arg(ref, star="**"),)
            )
    if kwonly and star is cst.MaybeSentinel.DEFAULT:
        star = cst.ParamStar()
    body = choose_variant(rule, rule.variants, bound)
    if body is None:
        return None
    doc = f'"""{rule.name} as a factory: PyTorch\'s arguments, the Keras layer."""'
    return cst.FunctionDef(
        name=cst.Name(name),
        params=cst.Parameters(params=params, star_arg=star, kwonly_params=kwonly, star_kwarg=star_kw),
        body=cst.IndentedBlock(
            [
                cst.SimpleStatementLine([cst.Expr(cst.SimpleString(doc))]),
                cst.SimpleStatementLine([cst.Return(body)]),
            ]
        ),
    )
