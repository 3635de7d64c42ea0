"""Support for translated Keras functional builders (Keras -> PyTorch).

A Keras builder creates ``keras.Input`` tensors, applies layers to them (through helper
functions, loops and conditions on shapes) and returns ``keras.Model(inputs, outputs)``. Its
translation keeps that code: ``KerasInput`` gives a placeholder tensor, the builder runs once on
it, and ``FunctionalModel(inputs, outputs)`` records which modules and operations led from the
inputs to the outputs. The result is an ``nn.Module``: its modules were built (and their sizes
inferred) while the builder ran, and ``forward`` replays the recorded graph on real inputs.

Limits: the graph is recorded once, so Python decisions taken on tensor *values* are frozen (on
shapes they are fine: the placeholder has the declared shape, batch 2), and a module called with
a tensor keyword argument inside the builder is replayed with the keyword's recorded value.
"""

import torch
from torch import nn


class _Trace:
    """The modules and operations applied to placeholder tensors, in order."""

    stack = []  # open traces; the innermost records

    def __init__(self):
        self.nodes = []  # (kind, callable, args, kwargs): kind "module" | "op"
        self.depth = 0  # > 0 inside a module's own forward: not recorded there
        self.pending = []  # the placeholder arguments of the module calls in progress
        self.handles = [
            nn.modules.module.register_module_forward_pre_hook(self._before_module),
            nn.modules.module.register_module_forward_hook(self._after_module, with_kwargs=True),
        ]

    def close(self):
        for handle in self.handles:
            handle.remove()
        if self in _Trace.stack:
            _Trace.stack.remove(self)

    def _before_module(self, module, args):
        if self.depth == 0 and not any(isinstance(a, KerasTensor) for a in _leaves(args)):
            self.pending.append(None)  # a module called on real tensors: not ours
            return None
        self.depth += 1
        if self.depth > 1:
            self.pending.append(None)
            return None
        self.pending.append((args, module.training))
        module.train(False)  # building must not move BatchNorm statistics
        return _unwrap(args)

    def _after_module(self, module, args, kwargs, output):
        entry = self.pending.pop()
        if entry is None:
            if self.depth > 1:
                self.depth -= 1
            return None
        self.depth -= 1
        symbolic_args, training = entry
        module.train(training)
        return self.record("module", module, symbolic_args, kwargs, output)

    def record(self, kind, fn, args, kwargs, result):
        if not any(isinstance(t, torch.Tensor) for t in _leaves(result)):
            return result
        index = len(self.nodes)
        self.nodes.append((kind, fn, _refs(args), _refs(kwargs)))
        return _wrap_outputs(result, index)


class KerasTensor(torch.Tensor):
    """A placeholder tensor of a builder being traced: real values (zeros) of the declared
    shape, plus the node of the graph that made it."""

    @staticmethod
    def __new__(cls, data, node):
        tensor = torch.Tensor._make_subclass(cls, data)
        tensor._keras_node = node
        return tensor

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        with torch._C.DisableTorchFunctionSubclass():
            result = func(*_unwrap(args), **_unwrap(kwargs))
        trace = _Trace.stack[-1] if _Trace.stack else None
        if trace is None or trace.depth > 0:
            return result
        return trace.record("op", func, args, kwargs, result)

    def close_trace(self):
        """This keras.Input only declared a Sequential's input size (support_core.without_inputs):
        a trace that recorded nothing else is closed, so its module hooks do not outlive it."""
        trace = _Trace.stack[-1] if _Trace.stack else None
        if trace is not None and all(node[0] == "input" for node in trace.nodes):
            trace.close()


def KerasInput(shape=None, batch_size=None, dtype=None, name=None):
    """keras.Input: a placeholder of ``shape`` (the batch axis excluded; unknown sizes are 32)
    that records what the builder does with it."""
    if not _Trace.stack:
        _Trace.stack.append(_Trace())
    trace = _Trace.stack[-1]
    size = [batch_size or 2] + [32 if s is None else int(s) for s in (shape or ())]
    integer = dtype is not None and "int" in str(dtype)
    data = torch.zeros(size, dtype=torch.long if integer else torch.float32)
    index = len(trace.nodes)
    trace.nodes.append(("input", None, (), {}))
    return KerasTensor(data, (index, None))


class FunctionalModel(nn.Module):
    """keras.Model(inputs, outputs): the modules and operations that lead from ``inputs`` to
    ``outputs``, replayed in order on real tensors by ``forward``."""

    def __init__(self, inputs, outputs, name=None):
        super().__init__()
        trace = _Trace.stack[-1]
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self.input_nodes = [t._keras_node[0] for t in inputs]
        self.output_refs = _refs(outputs)
        needed = _needed(trace.nodes, self.output_refs)
        names = {}  # id(module) -> its attribute name here: the Keras layer name when it had one
        self.steps = []  # (node index, kind, module name or function, args, kwargs)
        for index in sorted(needed):
            kind, fn, args, kwargs = trace.nodes[index]
            if kind == "input":
                continue
            if kind == "module":
                if id(fn) not in names:
                    names[id(fn)] = self._register(fn, len(names))
                fn = names[id(fn)]
            self.steps.append((index, kind, fn, args, kwargs))
        self.model_name = name
        if trace.nodes and trace.nodes[0][0] == "input" and 0 in self.input_nodes:
            trace.close()  # the model of the trace's first input: the builder is done

    def _register(self, module, position):
        name = str(getattr(module, "keras_name", "") or "").replace(".", "_")
        if not name.isidentifier() or hasattr(self, name):
            name = f"{type(module).__name__.lower()}_{position}"
        self.add_module(name, module)
        return name

    @property
    def layers(self):
        """The modules in the order the builder called them (Keras' ``model.layers``)."""
        return list(self.children())

    def forward(self, *inputs):
        values = dict(zip(self.input_nodes, inputs))
        for index, kind, fn, args, kwargs in self.steps:
            call = self._modules[fn] if kind == "module" else fn
            values[index] = call(*_resolve(args, values), **_resolve(kwargs, values))
        return _resolve(self.output_refs, values)


def named(module, name):
    """A layer of a builder with the name Keras gave it: FunctionalModel registers it under
    that name, so ``state_dict()`` keys read like the Keras model's layer names."""
    module.keras_name = name
    return module


# --- graph plumbing ---------------------------------------------------------------------------------
class _Ref:
    """Output ``item`` (None: the whole result) of graph node ``node``."""

    def __init__(self, node, item):
        self.node, self.item = node, item


def _leaves(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    else:
        yield value


def _map(value, fn):
    if isinstance(value, (list, tuple)):
        return type(value)(_map(v, fn) for v in value)
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    return fn(value)


def _unwrap(value):
    return _map(value, lambda v: v.as_subclass(torch.Tensor) if isinstance(v, KerasTensor) else v)


def _refs(value):
    return _map(value, lambda v: _Ref(*v._keras_node) if isinstance(v, KerasTensor) else v)


def _resolve(value, values):
    def get(v):
        if not isinstance(v, _Ref):
            return v
        result = values[v.node]
        return result if v.item is None else result[v.item]

    return _map(value, get)


def _wrap_outputs(result, index):
    if isinstance(result, torch.Tensor):
        return KerasTensor(result.detach(), (index, None))
    if isinstance(result, (list, tuple)):
        items = [
            KerasTensor(r.detach(), (index, i)) if isinstance(r, torch.Tensor) else r for i, r in enumerate(result)
        ]
        return type(result)(*items) if hasattr(result, "_fields") else type(result)(items)
    return result


def _needed(nodes, output_refs):
    """The nodes the outputs depend on."""
    needed, todo = set(), [r.node for r in _leaves(output_refs) if isinstance(r, _Ref)]
    while todo:
        index = todo.pop()
        if index in needed:
            continue
        needed.add(index)
        _, _, args, kwargs = nodes[index]
        todo += [r.node for r in _leaves((args, kwargs)) if isinstance(r, _Ref)]
    return needed


def init_lazy(module, *shapes, dtypes=()):
    """Runs ``module`` once on zeros of each input's ``shape`` (the batch axis excluded; unknown
    sizes are 32), in eval mode and without gradients, so that its Lazy modules take their sizes
    at construction, as Keras layers do when a builder runs: a freshly built model then has all
    its parameters (state_dict, parameter counts, torch.save, torch.jit.script)."""
    dtypes = list(dtypes) + [torch.float32] * (len(shapes) - len(dtypes))
    inputs = [
        torch.zeros([2] + [32 if s is None else int(s) for s in shape], dtype=dtype)
        for shape, dtype in zip(shapes, dtypes)
    ]
    training = module.training
    module.eval()
    with torch.no_grad():
        module(*inputs)
    module.train(training)
