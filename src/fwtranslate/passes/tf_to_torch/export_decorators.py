"""Keras registration decorators and ``@tf.function`` -> removed.

``@keras_export("keras.applications.VGG16")`` (Keras' own public-API registry; keras-hub's
``@keras_hub_export`` and its siblings likewise) and
``@keras.saving.register_keras_serializable()`` (the serialization registry) only register the
decorated function or class with Keras; they change nothing about what it computes and have no
PyTorch meaning. A rule cannot remove a decorator (it translates expressions), so this pass
drops the decorator line itself, before the call rewriter would report it as untranslated.
``@tf.function`` compiles a function into a TensorFlow graph: the PyTorch translation runs
eagerly (what the function computes is the same), with an info note (torch.compile is the
user's choice to make).
"""

from __future__ import annotations

import libcst as cst

from ...report import INFO
from ..common.base import Pass

# canonical names (keras.src.* is read as keras.*) of the decorators dropped, called or not
REGISTRATION_DECORATORS = frozenset(
    {
        "keras.api_export.keras_export",
        "tf.python.util.tf_export.keras_export",  # tf-keras / TensorFlow's own copy
        # the libraries built on Keras register their public names the same way
        "keras_hub.src.api_export.keras_hub_export",
        "keras_hub.api_export.keras_hub_export",
        "keras_nlp.src.api_export.keras_nlp_export",
        "keras_nlp.api_export.keras_nlp_export",
        "keras_cv.src.api_export.keras_cv_export",
        "keras_cv.api_export.keras_cv_export",
        "keras.saving.register_keras_serializable",
        "keras.saving.object_registration.register_keras_serializable",
        "keras.utils.register_keras_serializable",
    }
)


GRAPH_DECORATORS = frozenset({"tf.function", "tensorflow.function"})


class KerasExportDecorators(Pass):
    def prepare(self, module: cst.Module) -> set[int]:
        """The statements (and the compound statements holding them) that carry a registration
        decorator: a decorator line holds no name the pipeline considers worth a visit."""
        keep: set[int] = set()
        for stmt in module.body:
            self._collect(stmt, keep)
        return keep

    def _collect(self, stmt: cst.CSTNode, keep: set[int]) -> bool:
        found = False
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            found = any(self._is_registration(d) for d in stmt.decorators)
            block = stmt.body
            for child in getattr(block, "body", ()):
                if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
                    found = self._collect(child, keep) or found
        if found:
            keep.add(id(stmt))
        return found

    def _is_registration(self, decorator: cst.Decorator) -> bool:
        target = decorator.decorator
        if isinstance(target, cst.Call):
            target = target.func
        return self.ctx.resolve(target) in REGISTRATION_DECORATORS | GRAPH_DECORATORS

    def visit_Decorator(self, node: cst.Decorator) -> bool | None:
        if self._is_registration(node):
            return False  # its call/name must not reach the call rewriter: it goes whole
        return None

    def leave_Decorator(self, original: cst.Decorator, updated: cst.Decorator):
        if self._is_registration(original):
            target = original.decorator.func if isinstance(original.decorator, cst.Call) else original.decorator
            if self.ctx.resolve(target) in GRAPH_DECORATORS:
                why = "@tf.function dropped: the function runs eagerly in PyTorch (wrap it in torch.compile to compile it)"
                self.ctx.report(original, INFO, "graph-function", why)
            return cst.RemoveFromParent()
        return updated
