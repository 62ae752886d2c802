"""A linear task head initialised from class prototypes of the support set (Proto-MAML)."""

from __future__ import annotations

import torch

HEAD_WEIGHT = "head.weight"  # (N, D)
HEAD_BIAS = "head.bias"  # (N,)


def prototype_head(
    features: torch.Tensor, labels: torch.Tensor, num_classes: int, scale: torch.Tensor
) -> dict[str, torch.Tensor]:
    """W_c = 2 s mu_c, b_c = -s |mu_c|^2: softmax over -s |x - mu_c|^2 before any step.

    features (n, D) unit vectors, labels (n,) in [0, num_classes); every class needs an example.
    """
    counts = torch.bincount(labels, minlength=num_classes).to(features.dtype)  # (N,)
    sums = torch.zeros(num_classes, features.shape[1], dtype=features.dtype, device=features.device)
    prototypes = sums.index_add(0, labels, features) / counts.unsqueeze(1)  # (N, D)
    return {
        HEAD_WEIGHT: 2 * scale * prototypes,
        HEAD_BIAS: -scale * (prototypes**2).sum(-1),
    }


def head_logits(features: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """(n, D) -> (n, N)."""
    return features @ params[HEAD_WEIGHT].T + params[HEAD_BIAS]
