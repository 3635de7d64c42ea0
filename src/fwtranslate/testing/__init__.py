"""Source generators the tests and the benchmarks share: random models, fuzz inputs, large files.

They live in the package (like ``numpy.testing``), not under tests/, so that tests/ and benchmarks/
import them by name after ``pip install -e .`` with no ``sys.path`` set-up between the two folders;
nothing in the translator imports them, and none imports a framework until a ``check`` runs.

- ``random_models``: what the two random-model generators share (RandomModel, Outcome, the
  ``pick`` interface, the Hypothesis strategy, translate + verify of one model);
- ``torch_models`` / ``keras_models``: random PyTorch / Keras 3 models as source code;
- ``fuzz``: random sources around framework calls (Hypothesis), checked both ways;
- ``large_files``: synthetic large model files (the scaling benchmark, the 50k-line test).
"""
