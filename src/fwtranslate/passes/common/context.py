"""State shared by the passes during one traversal of one file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from ...directions import Direction
from ...imports import ImportMap, dotted_name
from ...report import ERROR
from ...rules import RuleSet


@dataclass
class ClassInfo:
    name: str
    is_module: bool  # a framework model class (nn.Module subclass ...)
    assigns: set[str] = field(default_factory=set)  # self.<attr> names assigned in the class
    node: cst.ClassDef | None = None  # the original node, for diagnostics' line:col
    source_base: str | None = None  # the framework class it derives from (torch.nn.Sequential...)
    direct_base: bool = False  # source_base is one of its own bases (not a local class's base)


@dataclass
class FunctionInfo:
    name: str
    owner: ClassInfo | None  # the class when this is a method
    uses_training: bool = False


@dataclass
class Pending:
    node: cst.CSTNode  # the original node, for line:col
    severity: str
    code: str
    message: str
    top: cst.CSTNode | None = None  # the top-level statement holding it (positions are per statement)
    path: tuple[cst.CSTNode, ...] = ()  # the nodes from the Module down to it, when reported


@dataclass
class Context:
    path: str
    direction: Direction
    rules: RuleSet
    imports: ImportMap
    star_names: frozenset[str]
    diagnostics: list[Pending] = field(default_factory=list)
    pending_marks: list[str] = field(default_factory=list)  # comments for the current statement
    held_marks: list[list[str]] = field(default_factory=list)  # marks raised before a block began
    header_marks: dict[int, list[str]] = field(default_factory=dict)  # compound statement id -> marks
    scopes: list[frozenset[str]] = field(default_factory=list)  # names bound locally
    classes: list[ClassInfo] = field(default_factory=list)
    functions: list[FunctionInfo] = field(default_factory=list)
    parents: list[cst.CSTNode] = field(default_factory=list)
    module_classes: dict[str, ClassInfo] = field(default_factory=dict)
    instantiated: set[str] = field(default_factory=set)  # names called inside model classes
    helpers_used: set[str] = field(default_factory=set)
    maybe_unused_helpers: set[str] = field(default_factory=set)  # kept only where the output still names them
    # PyTorch -> Keras: "torch" (NCHW interface), "keras" (channels-last interface) or
    # "channels-first" (no layout plan); the option --layout (passes/torch_to_tf/layout.py)
    layout: str = "torch"
    layout_plan: Any = None  # the layout analysis' Plan (common/layout.py), shared by Layout and LayoutWrap
    layout_native: dict[int, bool] = field(default_factory=dict)  # constructor id -> has a native form
    variable_attrs: set[str] = field(default_factory=set)  # self.<name> holding a keras.Variable
    factories: dict[str, tuple[str, cst.FunctionDef]] = field(default_factory=dict)  # qual -> (name, def)
    target_imports: set[str] = field(default_factory=set)  # import statements the output needs
    still_used: set[str] = field(default_factory=set)  # framework locals the output still references
    self_attrs: frozenset[str] = frozenset()  # names assigned as self.<name> or defined as methods
    skip: set[int] = field(default_factory=set)  # ids of original nodes a pass consumed whole
    inplace: dict[int, cst.BaseExpression] = field(default_factory=dict)  # call id -> receiver
    # in-place call id -> the call before its rule ran, kept where the update cannot be translated
    inplace_source: dict[int, cst.BaseExpression] = field(default_factory=dict)
    receiver_scopes: dict[int, dict[str, list]] = field(default_factory=dict)  # receivers.py's cache
    dropped: set[int] = field(default_factory=set)  # top-level statements the output leaves out
    # tf_to_torch: constructor call id -> the layer's input feature size (tf_to_torch/static_sizes.py)
    input_sizes: dict[int, int] = field(default_factory=dict)
    # tf_to_torch: constructor call id -> the rank of every input the layer is applied to, where
    # the analysis sees them all and they agree (the rule's template variable ``rank``)
    input_ranks: dict[int, int] = field(default_factory=dict)
    # (original node, rule) -> True when a `# fwtranslate: ignore` comment covers it (suppress.py)
    suppressed: Callable[[cst.CSTNode, str], bool] | None = None
    trained_models: set[str] = field(default_factory=set)  # models an optimizer updates (training.py)
    keras_models: set[str] = field(default_factory=set)  # names holding Keras models (tf_to_torch/model_names.py)
    source: str = ""  # the text being translated (a piece's text, for a piece of a long file)
    piece: bool = False  # a piece of a long file (chunked.py): its imports are fixed once, for all pieces

    # --- names --------------------------------------------------------------------------
    def resolve(self, node: cst.BaseExpression) -> str | None:
        name = dotted_name(node)
        if name is None:
            return None
        head = name.split(".", 1)[0]
        for scope in self.scopes:
            if head in scope:
                return None
        return self.imports.resolve(node, star_names=self.star_names)

    def parent(self, depth: int = 1) -> cst.CSTNode | None:
        # parents[-1] is the node being left/visited itself
        return self.parents[-1 - depth] if len(self.parents) > depth else None

    @property
    def current_class(self) -> ClassInfo | None:
        return self.classes[-1] if self.classes else None

    @property
    def class_name(self) -> str | None:
        return self.classes[-1].name if self.classes else None

    @property
    def current_function(self) -> FunctionInfo | None:
        return self.functions[-1] if self.functions else None

    # --- reporting ----------------------------------------------------------------------
    def report(self, node: cst.CSTNode, severity: str, code: str, message: str) -> None:
        if self.suppressed is not None and self.suppressed(node, code):
            return  # the user accepted this construct as it is: no diagnostic, no marker
        top = self.parents[1] if len(self.parents) > 1 else node  # parents[0] is the Module
        self.diagnostics.append(Pending(node, severity, code, message, top, tuple(self.parents)))
        if severity == ERROR:
            self.pending_marks.append(f"# fwtranslate: unconverted [{code}] {message}")

    def keep_framework_name(self, node: cst.BaseExpression) -> None:
        name = dotted_name(node)
        if name:
            self.still_used.add(name.split(".", 1)[0])
