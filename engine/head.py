"""A linear task head initialised from class prototypes of the support set (Proto-MAML)."""

from __future__ import annotations

import torch

HEAD_WEIGHT = "head.weight"  # (N, D)
HEAD_BIAS = "head.bias"  # (N,)


def prototype_head(
    features: torch.Tensor,
    labels: torch.Tensor,
    num_classes: int,
    scale: torch.Tensor,
    prior: torch.Tensor | None = None,
    prior_weight: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """W_c = 2 s mu_c, b_c = -s |mu_c|^2: softmax over -s |x - mu_c|^2 before any step.

    features (n, D) unit vectors, labels (n,) in [0, num_classes); every class needs an example
    unless `prior` (N, D), a feature per class counted as `prior_weight` (N,) examples (the
    embedding of the class's name), stands in: mu_c = (sum of its features + w_c p_c) /
    (its count + w_c).
    """
    counts = torch.bincount(labels, minlength=num_classes).to(features.dtype)  # (N,)
    sums = torch.zeros(num_classes, features.shape[1], dtype=features.dtype, device=features.device)
    sums = sums.index_add(0, labels, features)
    if prior is not None:
        sums, counts = sums + prior_weight.unsqueeze(1) * prior, counts + prior_weight
    prototypes = sums / counts.unsqueeze(1)  # (N, D)
    return {
        HEAD_WEIGHT: 2 * scale * prototypes,
        HEAD_BIAS: -scale * (prototypes**2).sum(-1),
    }


def head_logits(features: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """(n, D) -> (n, N)."""
    return features @ params[HEAD_WEIGHT].T + params[HEAD_BIAS]


def fit_linear_head(
    features: torch.Tensor, labels: torch.Tensor, head: dict[str, torch.Tensor], c: float
) -> dict[str, torch.Tensor]:
    """Logistic regression on `features` (n, D), started from `head`: sklearn's objective,
    C * sum of cross-entropies + |W|^2 / 2, minimised by L-BFGS.

    With hundreds of examples per class a head fitted on all of them beats the few-shot head
    fitted on the subsample the learned steps ran on.
    """
    weight = head[HEAD_WEIGHT].detach().clone().requires_grad_()
    bias = head[HEAD_BIAS].detach().clone().requires_grad_()
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=200, line_search_fn="strong_wolfe")

    def objective() -> torch.Tensor:
        optimizer.zero_grad()
        logits = features @ weight.T + bias
        loss = torch.nn.functional.cross_entropy(logits, labels) + (weight**2).sum() / (
            2 * c * len(labels)
        )
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(objective)
    return {HEAD_WEIGHT: weight.detach(), HEAD_BIAS: bias.detach()}
