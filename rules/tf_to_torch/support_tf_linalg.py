"""Support functions for tf.linalg (Keras / TensorFlow -> PyTorch): TensorFlow's return
conventions where torch's differ (svd's order and v, lu's permutation, pinv's default cutoff)."""

import torch


def tf_svd(tensor, full_matrices=False, compute_uv=True):
    """tf.linalg.svd: (s, u, v) with tensor = u diag(s) v^H (torch returns u, s, v^H)."""
    if not compute_uv:
        return torch.linalg.svdvals(tensor)
    u, s, vh = torch.linalg.svd(tensor, full_matrices=full_matrices)
    return s, u, vh.mH


def tf_lu(input):
    """tf.linalg.lu: (lu, p), L - I + U in one matrix and the row permutation as indices, so that
    input[p] = L U (torch: input = P L U)."""
    permutation, lower, upper = torch.linalg.lu(input)
    eye = torch.eye(input.shape[-1], dtype=input.dtype, device=input.device)
    return lower - eye + upper, permutation.argmax(dim=-2).to(torch.int32)


def tf_tensor_diag_part(input):
    """tf.linalg.tensor_diag_part: input (d1..dk, d1..dk) -> (d1..dk), entries [i1..ik, i1..ik]."""
    shape = input.shape[: input.dim() // 2]
    flat = input.reshape(shape.numel(), shape.numel())
    return torch.diagonal(flat).reshape(shape)


def tf_pinv(a, rcond=None):
    """tf.linalg.pinv: singular values up to rcond * the largest are dropped; TF's default rcond
    is 10 * max(rows, columns) * eps (torch's is max(rows, columns) * eps)."""
    if rcond is None:
        rcond = 10 * max(a.shape[-2:]) * torch.finfo(a.dtype).eps
    return torch.linalg.pinv(a, rtol=rcond)
