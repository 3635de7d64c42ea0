"""Synthetic large model files: benchmarks/robustness_scaling.py times their translation and
tests/common/test_robustness.py checks that a 50k-line one translates."""

from __future__ import annotations

HEADER = '"""A synthetic model file for the scaling benchmark."""\nimport torch\nimport torch.nn as nn\n'
BLOCK = '''

class Block{i}(nn.Module):
    """Block {i}: a linear layer and a skip connection."""

    def __init__(self, width=8):
        super().__init__()
        self.fc = nn.Linear(width, width)
        self.scale = {i} % 7 + 1  # plain Python stays as it is

    def forward(self, x, y):
        h = torch.relu(self.fc(x))
        z = torch.cat([h, y], 1)
        return torch.flatten(z, 1) * self.scale


def helper_{i}(values):
    total = 0
    for k, v in enumerate(values):
        if k % 2:
            total += v * {i}
    return total
'''


def make_source(lines: int) -> str:
    """A file of at least ``lines`` lines (the same text for the same size, always)."""
    per_block = BLOCK.count("\n")
    blocks = -(-(lines - HEADER.count("\n")) // per_block)
    return HEADER + "".join(BLOCK.format(i=i) for i in range(blocks))


def make_long_line(chars: int = 1_000_000) -> str:
    """A torch file whose one long line holds about ``chars`` characters of calls."""
    call = "torch.relu(x), "
    return "import torch\n\n\ny = [" + call * (chars // len(call)) + "x]\n"
