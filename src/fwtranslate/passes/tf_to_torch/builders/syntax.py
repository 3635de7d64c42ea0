"""The code the lifting writes (lift.py, unit.py): statements and classes as LibCST nodes, and
the small rewrites of a finished body (moves of the channel axis that cancel, a loop body that
is a chain of modules, channel counts nothing reads)."""

from __future__ import annotations

import re

import libcst as cst

from ....cstutil import code, expression
from .names import loads

BUILDER_PREFIXES = ("build_", "make_", "create_", "get_", "define_")


def call_name(node) -> str | None:
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return node.func.value
    return None


# --- small CST makers ---------------------------------------------------------------------
def line_of(small: cst.BaseSmallStatement) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine([small])


def assign(target: str, value: cst.BaseExpression) -> cst.Assign:
    return assign_to(expression(target), value)


def assign_to(target: cst.BaseExpression, value: cst.BaseExpression) -> cst.Assign:
    return cst.Assign([cst.AssignTarget(target)], value)  # type: ignore[arg-type]  # (names, attributes)


def call_of(func: str, *args: cst.BaseExpression) -> cst.Call:
    return cst.Call(expression(func), [cst.Arg(a) for a in args])


def params_of(names) -> cst.Parameters:
    return cst.Parameters([cst.Param(cst.Name(n)) for n in names])


def param_names(params: cst.Parameters) -> list[str]:
    out = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    for extra in (params.star_arg, params.star_kwarg):
        if isinstance(extra, cst.Param):
            out.append(extra.name.value)
    return out


def forward_args(params: cst.Parameters) -> list[cst.Arg]:
    """The arguments that pass a function's own parameters on, as it received them."""
    args = [cst.Arg(cst.Name(p.name.value)) for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        args.append(cst.Arg(cst.Name(params.star_arg.name.value), star="*"))
    args += [cst.Arg(cst.Name(p.name.value), keyword=cst.Name(p.name.value)) for p in params.kwonly_params]
    if params.star_kwarg is not None:
        args.append(cst.Arg(cst.Name(params.star_kwarg.name.value), star="**"))
    return args


def fix_commas(args: list[cst.Arg]) -> list[cst.Arg]:
    return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]


def module_class(name, doc, init_params, init_body, fwd_params, fwd_body) -> cst.ClassDef:
    self_param = cst.Param(cst.Name("self"))
    init_params = (
        init_params.with_changes(params=[self_param, *init_params.params])
        if not init_params.posonly_params
        else init_params.with_changes(posonly_params=[self_param, *init_params.posonly_params])
    )
    init = cst.FunctionDef(
        cst.Name("__init__"),
        init_params,
        cst.IndentedBlock([cst.parse_statement("super().__init__()\n"), *init_body]),
    )
    fwd = cst.FunctionDef(
        cst.Name("forward"),
        fwd_params.with_changes(params=[self_param, *fwd_params.params]),
        cst.IndentedBlock(fwd_body or [cst.parse_statement("pass\n")]),
        leading_lines=[cst.EmptyLine(indent=False)],
    )
    return cst.ClassDef(
        cst.Name(name),
        cst.IndentedBlock(
            [cst.parse_statement(doc + "\n"), init.with_changes(leading_lines=[cst.EmptyLine(indent=False)]), fwd]
        ),
        bases=[cst.Arg(expression("nn.Module"))],
        leading_lines=[cst.EmptyLine(), cst.EmptyLine()],
    )


def rebuild_if(stmt: cst.If, test, body: list, orelse: list) -> cst.If:
    if not body:
        body = [cst.parse_statement("pass\n")]
    new_else: cst.If | cst.Else | None = None
    if orelse:
        if len(orelse) == 1 and isinstance(orelse[0], cst.If) and isinstance(stmt.orelse, cst.If):
            new_else = orelse[0]
        else:
            new_else = cst.Else(cst.IndentedBlock(orelse))
    return stmt.with_changes(test=test, body=cst.IndentedBlock(body), orelse=new_else)


def rebuild_for(loop: cst.For, target, iterable, body: list) -> cst.For:
    return loop.with_changes(target=target, iter=iterable, body=cst.IndentedBlock(body), orelse=None, leading_lines=[])


def target_of(parts: list):
    if len(parts) == 1:
        return parts[0]
    return cst.Tuple([cst.Element(p) for p in parts], lpar=[], rpar=[])


def zip_of(seqs: list) -> cst.Call:
    return cst.Call(cst.Name("zip"), [cst.Arg(s) for s in seqs])


def tuple_or_name(names: list[str]) -> cst.BaseExpression:
    if len(names) == 1:
        return cst.Name(names[0])
    return cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[])


def unique(names) -> list[str]:
    return list(dict.fromkeys(names))


def fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def prune_channels(lines: list) -> list:
    """``__init__``'s lines without the channel counts nothing reads (``x_channels = 8``)."""
    read = set()
    for line in lines:
        read |= set(loads(line))

    class T(cst.CSTTransformer):
        def leave_SimpleStatementLine(self, original, updated):
            small = updated.body[0] if len(updated.body) == 1 else None
            if (
                isinstance(small, cst.Assign)
                and len(small.targets) == 1
                and isinstance(small.targets[0].target, cst.Name)
                and small.targets[0].target.value.endswith("_channels")
                and small.targets[0].target.value not in read
                and not any(isinstance(n, cst.Call) for n in walk_nodes(small.value))
            ):
                return cst.RemoveFromParent()
            return updated

        def leave_IndentedBlock(self, original, updated):
            return updated if updated.body else updated.with_changes(body=[cst.parse_statement("pass\n")])

    out = []
    for line in lines:
        new = line.visit(T())
        if isinstance(new, cst.RemovalSentinel):
            continue
        out.append(new)
    return out


def walk_nodes(node: cst.CSTNode):
    yield node
    for child in node.children:
        yield from walk_nodes(child)


def split_docstring(body: list) -> tuple[list, list]:
    first = body[0] if body else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        return [first], body[1:]
    return [], body


def argument(call: cst.Call, position: int, keyword: str):
    for i, a in enumerate(call.args):
        if a.keyword is not None:
            if a.keyword.value == keyword:
                return a.value
        elif i == position and not a.star:
            return a.value
    return None


def chain_writer(init: list, fwd: list, carried: str):
    """A loop body that only applies modules to one tensor in turn: the function that writes
    its ``__init__`` side as additions to one ``nn.Sequential``; None otherwise."""
    sites = []
    for line in fwd:
        small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
        if not (
            isinstance(small, cst.Assign)
            and code(small.targets[0].target) == carried
            and isinstance(small.value, cst.Call)
            and len(small.value.args) == 1
            and code(small.value.args[0].value) == carried
            and code(small.value.func).startswith("self.")
        ):
            return None
        sites.append(code(small.value.func))
    made: dict[str, cst.BaseExpression] = {}
    for line in init:
        small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
        if isinstance(small, cst.Assign) and code(small.targets[0].target).startswith("self."):
            made[code(small.targets[0].target)] = small.value
    if sorted(made) != sorted(sites) or len(set(sites)) != len(sites):
        return None
    for line in init:
        if not _is_site_line(line, made):
            rest = code(line)
            for site in made:
                rest = re.sub(rf"\b{re.escape(site)}\b", "", rest)
            if "self." in rest:
                return None  # (a nested loop's container)

    def write(attr: str) -> list:
        out: list = []
        pending: list = []
        appended: list[str] = []  # this iteration's modules so far
        for line in init:
            small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
            target = code(small.targets[0].target) if isinstance(small, cst.Assign) else ""
            if target in made:
                pending.append(made[target])
                appended.append(target)
                continue
            out.extend(_flush(attr, pending))
            text = code(line)
            for back, site in enumerate(reversed(appended), 1):  # self.conv -> self.blocks[-2]
                text = re.sub(rf"\b{re.escape(site)}\b", f"self.{attr}[-{back}]", text)
            out.append(cst.parse_statement(text) if text != code(line) else line)
        return out + _flush(attr, pending)

    return write


def _is_site_line(line, made: dict) -> bool:
    small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
    return isinstance(small, cst.Assign) and code(small.targets[0].target) in made


def _flush(attr: str, pending: list) -> list:
    if not pending:
        return []
    items = list(pending)
    pending.clear()
    if len(items) == 1:
        return [line_of(cst.Expr(call_of(f"self.{attr}.append", items[0])))]
    return [line_of(cst.Expr(call_of(f"self.{attr}.extend", cst.List([cst.Element(i) for i in items]))))]


def cancel_moves(lines: list) -> list:
    """Adjacent moves of one tensor's axis that undo each other (``x.movedim(1, -1)`` then
    ``x.movedim(-1, 1)``, left where a loop or a helper was) are dropped."""
    out: list = []
    for line in lines:
        move = _move(line)
        last = _move(out[-1]) if out else None
        if move and last and move[0] == last[0] and move[1] == last[1][::-1]:
            out.pop()
            continue
        out.append(line)
    return out


def hoist_moves(fwd: list, inputs: list[str], returns: list[str]) -> tuple[list, list, list]:
    """A loop body that moves a carried tensor's axis at its start and back at its end does the
    same around the whole loop (the moves cancel between iterations)."""
    if len(fwd) < 2 or inputs != returns:
        return [], fwd, []
    first, last = fwd[0], fwd[-1]
    moves = [_move(first), _move(last)]
    if None in moves:
        return [], fwd, []
    (name_a, args_a), (name_b, args_b) = moves  # type: ignore[misc]
    if name_a != name_b or name_a not in inputs or args_a != args_b[::-1]:
        return [], fwd, []
    return [first], fwd[1:-1], [last]


def _move(line) -> tuple[str, list[str]] | None:
    small = line.body[0] if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1 else None
    if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.value, cst.Call)):
        return None
    func = small.value.func
    target = code(small.targets[0].target)
    if not (isinstance(func, cst.Attribute) and func.attr.value == "movedim" and code(func.value) == target):
        return None
    return target, [code(a.value) for a in small.value.args]


def name_hint(name: cst.BaseExpression) -> str | None:
    """An attribute name from a Keras layer name: the literal, or its last literal part
    (``name + "_conv1"`` -> ``conv1``)."""
    text = None
    if isinstance(name, cst.SimpleString):
        text = name.evaluated_value
    elif isinstance(name, cst.BinaryOperation) and isinstance(name.right, cst.SimpleString):
        text = name.right.evaluated_value
    elif isinstance(name, cst.FormattedString):
        last = name.parts[-1] if name.parts else None
        text = last.value if isinstance(last, cst.FormattedStringText) else None
    if not isinstance(text, str):
        return None
    text = re.sub(r"\W", "_", text).strip("_")
    return text if text.isidentifier() else None


def module_hint(ctor: cst.BaseExpression) -> str:
    """``nn.LazyConv2d(...)`` -> ``conv2d``; ``KerasBatchNormalization`` -> ``batch_normalization``;
    ``nn.Sequential(first, ...)`` -> the first module's."""
    if isinstance(ctor, cst.Call):
        func = code(ctor.func).rsplit(".", 1)[-1]
        if func == "Sequential" and ctor.args:
            return module_hint(ctor.args[0].value)
        for prefix in ("Lazy", "Keras"):
            if func.startswith(prefix) and func[len(prefix) : len(prefix) + 1].isupper():
                func = func[len(prefix) :]
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", func).lower()
    return "layer"


def camel(name: str) -> str:
    lead = "_" * (len(name) - len(name.lstrip("_")))
    return lead + "".join(p[:1].upper() + p[1:] for p in name.split("_") if p)


def strip_prefix(name: str) -> str:
    for prefix in BUILDER_PREFIXES:
        if name.startswith(prefix) and name[len(prefix) : len(prefix) + 1].isalpha():  # (build_2d stays)
            return name[len(prefix) :]
    return name


def qualified(node, owner: str, names: set[str]) -> tuple[cst.CSTNode, list[str]]:
    """``node`` with each variable of ``names`` read as ``owner.<name>`` (``upsample`` ->
    ``self.upsample``; not an attribute's name nor a keyword), and those names, in order."""
    used: list[str] = []

    class T(cst.CSTTransformer):
        def __init__(self) -> None:
            self.keep: set[int] = set()

        def visit_Attribute(self, n: cst.Attribute) -> None:
            self.keep.add(id(n.attr))

        def visit_Arg(self, n: cst.Arg) -> None:
            if n.keyword is not None:
                self.keep.add(id(n.keyword))

        def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
            if id(original) in self.keep or original.value not in names:
                return updated
            if original.value not in used:
                used.append(original.value)
            return expression(f"{owner}.{original.value}")

    return node.visit(T()), used
