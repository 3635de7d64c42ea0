"""Methods of a Keras model -> what a PyTorch user writes, on names the file binds to a Keras model.

    model.save_weights(p)      ->  torch.save(model.state_dict(), p)
    model.load_weights(p)      ->  model.load_state_dict(torch.load(p))   (the file saves its weights itself)
    model.save(p)              ->  torch.save(model, p)                   (keras.models.load_model(p) ->
                                                                           torch.load(p, weights_only=False))
    model.summary()            ->  print(model)
    model.add(layer)           ->  model.append(layer)                    (keras.Sequential -> nn.Sequential)
    model.count_params()       ->  sum(p.numel() for p in model.parameters()) + the floating buffers
    w = a.get_weights() ... b.set_weights(w)   (a copy between models, nothing else reads w)
                               ->  [v.cpu().numpy().copy() for v in a.state_dict().values()] ...
                                   b.load_state_dict(dict(zip(b.state_dict(), map(torch.as_tensor, w), strict=True)))

``get_weights`` / ``set_weights`` are translated only where their arrays go from one model to a
model straight away (``weight_copies``): the translated list holds the translated model's state_dict
in its own order and layouts (a Linear weight is (out, in), batch norm has num_batches_tracked),
which is exact for a copy between models of the same architecture, as the Keras original is, but
not for code that reads the arrays by Keras' positions or shapes: that is reported. A torch module
has none of Keras' methods: any other public method of ``keras.Model`` called on
such a name is reported (``model-method``), never left silent. Which expressions hold Keras models is
model_names.py's answer (the same receivers the loops train); a receiver it does not know (a PIL
image's ``save``) is not touched. ``load_weights`` of a file that does not save weights itself is
the ``Module.load_weights`` rule's (``keras_load_weights``: a torch checkpoint loads, a Keras file
raises with advice).
"""

from __future__ import annotations

import libcst as cst

from ...cstutil import code, expression
from ...report import ERROR, INFO
from .fit_callbacks import arguments

# public methods of keras.Model and keras.Sequential (Keras 3), the fit loop's own excepted
KERAS_MODEL_METHODS = frozenset(
    {
        "add",
        "add_loss",
        "add_metric",
        "add_variable",
        "add_weight",
        "build",
        "build_from_config",
        "call",
        "compile_from_config",
        "compute_loss",
        "compute_mask",
        "compute_metrics",
        "compute_output_shape",
        "compute_output_spec",
        "count_params",
        "export",
        "get_build_config",
        "get_compile_config",
        "get_config",
        "get_layer",
        "get_metrics_result",
        "get_state_tree",
        "get_weights",
        "load_own_variables",
        "load_weights",
        "make_predict_function",
        "make_test_function",
        "make_train_function",
        "pop",
        "predict_on_batch",
        "predict_step",
        "quantize",
        "reset_metrics",
        "save",
        "save_own_variables",
        "save_weights",
        "set_state_tree",
        "set_weights",
        "stateless_call",
        "summary",
        "symbolic_call",
        "test_on_batch",
        "test_step",
        "to_json",
        "train_on_batch",
        "train_step",
    }
)
_WHY = {
    "get_weights": "Keras' weights are NumPy arrays in Keras' order and layouts (a Dense kernel is (in, out)); "
    "the translated model's are its state_dict() in torch's (nn.Linear.weight is (out, in)); only a copy "
    "into another model's set_weights (nothing else reading the arrays) is translated",
    "set_weights": "Keras' weights are NumPy arrays in Keras' order and layouts (a Dense kernel is (in, out)); "
    "use load_state_dict() with the translated model's own state_dict() layouts; only arrays straight from "
    "another model's get_weights are translated",
    "call": "the translated model computes in forward(): call the model itself, model(x)",
}


def weight_copies(
    calls: list[cst.Call], built: dict[str, list[tuple[int, cst.Call]]], uses: dict[str, int]
) -> set[int]:
    """The ids of the ``get_weights`` / ``set_weights`` calls (``calls``, on Keras models) that only
    copy weights between models: ``b.set_weights(a.get_weights())``, or ``w = a.get_weights()``
    where every other mention of ``w`` in the file is ``set_weights(w)``."""
    gets = {id(c) for c in calls if cst.ensure_type(c.func, cst.Attribute).attr.value == "get_weights" and not c.args}
    sets = [c for c in calls if cst.ensure_type(c.func, cst.Attribute).attr.value == "set_weights"]
    sets = [c for c in sets if len(c.args) == 1 and c.args[0].keyword is None and not c.args[0].star]
    holders = {n: [c for _, c in b] for n, b in built.items() if all(id(c) in gets for _, c in b)}
    passed: dict[str, int] = {}
    for c in sets:
        if isinstance(c.args[0].value, cst.Name):
            passed[c.args[0].value.value] = passed.get(c.args[0].value.value, 0) + 1
    copied = {n for n, got in holders.items() if passed.get(n) and uses.get(n) == len(got) + passed[n]}
    exact = {id(c) for n in copied for c in holders[n]}
    for c in sets:
        value = c.args[0].value
        if id(value) in gets or (isinstance(value, cst.Name) and value.value in copied):
            exact |= {id(c), id(value)} if id(value) in gets else {id(c)}
    return exact


def rewrite(
    ctx, call: cst.Call, updated: cst.Call, method: str, model: str, saves_weights: bool, copies: bool = False
) -> cst.BaseExpression | None:
    """The translation of ``model.method(...)`` (``call``: the original, ``updated``: its arguments
    translated), or None: left as it is, reported where it must be."""
    args = {
        "save_weights": ("filepath", "overwrite", "max_shard_size"),
        "load_weights": ("filepath", "skip_mismatch"),
        "save": ("filepath", "overwrite", "zipped"),
        "summary": ("line_length", "positions", "print_fn", "expand_nested", "show_trainable", "layer_range"),
        "count_params": (),
        "add": ("layer", "rebuild"),
        **({"get_weights": (), "set_weights": ("weights",)} if copies else {}),
    }.get(method)
    if args is None:
        if method in ctx.rules.methods and ctx.rules.methods[method].is_module_member:
            return None  # a Module rule translates it (Module.build, Module.add_weight)
        why = _WHY.get(method, "a torch module has no such method")
        ctx.report(call, ERROR, "model-method", f"{model}.{method}() is not translated: {why}")
        return None
    bound = arguments(updated, args)
    if bound is None:
        ctx.report(call, ERROR, "model-method", f"{model}.{method}: its arguments cannot be matched to Keras'")
        return None
    if method == "load_weights" and not saves_weights:
        return None  # Module.load_weights: keras_load_weights
    problem = _unsupported(method, bound, cst.ensure_type(call.func, cst.Attribute).value)
    if problem is not None:
        ctx.report(call, ERROR, "model-method", f"{model}.{method}: {problem} is not translated")
        return None
    ctx.skip.add(id(call))  # the Module rules must not see the call again
    model = code(cst.ensure_type(updated.func, cst.Attribute).value)  # load_model(p).summary(): translated
    path = code(bound["filepath"]) if "filepath" in bound else ""
    if method in ("save_weights", "save", "load_weights"):
        ctx.target_imports.add("import torch")
    if method == "save_weights":
        ctx.report(
            call, INFO, "checkpoint", f"{model}.save_weights: the file holds torch's state_dict() (its name kept)"
        )
        return expression(f"torch.save({model}.state_dict(), {path})")
    if method == "load_weights":
        return expression(f"{model}.load_state_dict(torch.load({path}))")
    if method == "save":
        ctx.report(
            call,
            INFO,
            "checkpoint",
            f"{model}.save: torch.save pickles the whole module; loading it needs its class importable",
        )
        return expression(f"torch.save({model}, {path})")
    if method == "get_weights":  # the state_dict's arrays, copies as Keras' are
        ctx.report(
            call, INFO, "model-method", f"{model}.get_weights: the arrays are the state_dict()'s, torch's layouts"
        )
        return expression(f"[v.cpu().numpy().copy() for v in {model}.state_dict().values()]")
    if method == "set_weights":  # strict: Keras raises on a different count or shape too
        ctx.target_imports.add("import torch")
        weights = code(bound["weights"])
        return expression(
            f"{model}.load_state_dict(dict(zip({model}.state_dict(), map(torch.as_tensor, {weights}), strict=True)))"
        )
    if method == "add":  # keras.Sequential.add: nn.Sequential.append (rebuild: Keras' build, none in torch)
        return expression(f"{model}.append({code(bound['layer'])})")
    if method == "summary":
        printer = code(bound["print_fn"]) if "print_fn" in bound else "print"
        return expression(f"{printer}({model})" if printer == "print" else f"{printer}(str({model}))")
    # count_params: Keras counts every weight, its non-trainable ones (moving statistics) included:
    # torch keeps those as floating buffers
    return expression(
        f"sum(p.numel() for p in {model}.parameters()) + sum(b.numel() for b in {model}.buffers() if b.is_floating_point())"
    )


def _unsupported(method: str, bound: dict[str, cst.BaseExpression], receiver: cst.BaseExpression) -> str | None:
    if "overwrite" in bound and code(bound["overwrite"]) != "True":
        return "overwrite=False (Keras asks before overwriting)"
    if bound.get("max_shard_size") is not None and code(bound["max_shard_size"]) != "None":
        return "max_shard_size"
    if "skip_mismatch" in bound and code(bound["skip_mismatch"]) != "False":
        return "skip_mismatch=True"
    if "zipped" in bound and code(bound["zipped"]) != "None":
        return "zipped"
    if "filepath" not in bound and method in ("save_weights", "load_weights", "save"):
        return "a call without a file path"
    if method == "count_params" and not isinstance(receiver, (cst.Name, cst.Attribute)):
        return "count_params() on a call's result (bind the model to a name first)"
    return None
