"""The inner loop: a few gradient steps on the adapters and head with learned step sizes.

    phi' = phi - alpha (.) grad_phi L(support)      (eq. 4, repeated S times)

Pure: parameters travel as a dict through `torch.func.functional_call`, so meta-training
can differentiate through the steps (create_graph=True) and fine-tuning need not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum

import torch
from torch.func import functional_call
from torch.nn import functional as F

from engine.adapters import AdaptedEncoder
from engine.head import head_logits, prototype_head
from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel

Params = dict[str, torch.Tensor]
CHOOSING_STEPS = "Checking on set-aside examples"  # progress stage of choose_steps
# A chunk's rows are at most this many times as long as its shortest: 24 texts of 30 tokens
# and one of 128 run as two chunks (24 x 30 + 128 tokens) instead of one of 25 x 128.
CHUNK_WIDTH_RATIO = 1.5


class Order(Enum):
    """How much of the inner loop the outer loop differentiates through."""

    NONE = "none"  # use time: every step detached; nothing flows back
    FIRST = "first"  # phi' = phi_0 - sum_s alpha (.) g_s with each g_s held constant
    SECOND = "second"  # through the gradients too (create_graph=True): exact, ~2x the cost


@dataclass
class Batch:
    inputs: dict[str, torch.Tensor]  # input_ids, attention_mask (, token_type_ids): (n, T)
    labels: torch.Tensor  # (n,) class indices

    def __len__(self) -> int:
        return len(self.labels)

    def chunks(self, size: int) -> Iterator[tuple[torch.Tensor, Batch]]:
        """(rows, sub-batch) of at most `size` rows of similar length, each trimmed to its own
        longest row, so no row pays for a much longer text's padding.

        Rows go in length order; a chunk closes when full or when the next row is more than
        CHUNK_WIDTH_RATIO times as long as its first row. Trimming is exact: rows are
        right-padded (load_backbone sees to it), and columns past a chunk's longest row are
        padding in every row of it.
        """
        lengths = self.inputs["attention_mask"].sum(1)
        order = torch.argsort(lengths, stable=True)
        sorted_lengths = lengths[order].tolist()
        start = 0
        while start < len(order):
            stop = start + 1
            while (
                stop < min(start + size, len(order))
                and sorted_lengths[stop] <= CHUNK_WIDTH_RATIO * sorted_lengths[start]
            ):
                stop += 1
            rows, width = order[start:stop], sorted_lengths[stop - 1]
            inputs = {name: tensor[rows, :width] for name, tensor in self.inputs.items()}
            yield rows, Batch(inputs, self.labels[rows])
            start = stop

    def select(self, indices: list[int]) -> Batch:
        rows = torch.tensor(indices, device=self.labels.device)
        return Batch(
            {name: tensor[rows] for name, tensor in self.inputs.items()}, self.labels[rows]
        )


def encoder_params(params: Params) -> Params:
    """The entries of `params` that belong to the encoder (everything but the head)."""
    return {name: p for name, p in params.items() if not name.startswith("head.")}


def task_logits(
    model: AdaptedEncoder, params: Params, batch: Batch, chunk_size: int = 32
) -> torch.Tensor:
    """Logits (n, N) of the adapted model with `params` standing in for its own, in the
    batch's row order (computed in length-sorted chunks)."""
    return head_logits(pooled_features(model, encoder_params(params), batch, chunk_size), params)


def pooled_features(
    model: AdaptedEncoder, params: Params, batch: Batch, chunk_size: int = 32
) -> torch.Tensor:
    """Pooled features (n, D) with `params` (a subset of the model's own) in row order;
    differentiable when grad is enabled."""
    rows, features = [], []
    for chunk_rows, chunk in batch.chunks(chunk_size):
        rows.append(chunk_rows)
        features.append(functional_call(model, params, args=(), kwargs=chunk.inputs))
    order = torch.argsort(torch.cat(rows))  # back to the batch's own row order
    return torch.cat(features)[order]


def prototype_start(
    model: AdaptedEncoder,
    phi0: Params,
    support: Batch | None,
    num_classes: int,
    scale: torch.Tensor,
    names: NamePrior | None = None,
) -> Params:
    """Where every inner loop starts: phi_0, and the prototype head of the support features
    computed with phi_0 in place. Meta-training optimises the query loss from this start, so
    use time starts here too. `names` adds each class's name, read the same way, as a
    pseudo-example (with no support at all, they are the head). Differentiable when grad is
    enabled."""
    prior = weight = None
    if names is not None:
        prior, weight = pooled_features(model, phi0, names.batch, chunk_size=64), names.weight
    if support is None:  # no examples at all: the names alone (zero-shot)
        labels = torch.zeros(0, dtype=torch.long, device=prior.device)
        features = prior.new_zeros(0, prior.shape[1])
    else:
        labels, features = support.labels, pooled_features(model, phi0, support, chunk_size=64)
    head = prototype_head(features, labels, num_classes, scale, prior, weight)
    return {**phi0, **head}


@dataclass
class NamePrior:
    """Class names as pseudo-examples: one encoded name per class and how many examples each
    counts as (0 for a name that carries no meaning, such as "1" or "LABEL_3")."""

    batch: Batch  # row c: class c's name
    weight: torch.Tensor  # (N,)


def support_gradients(
    model: AdaptedEncoder,
    params: Params,
    support: Batch,
    *,
    create_graph: bool,
    chunk_size: int,
    should_stop: StopCheck | None = None,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Mean loss over the support set and its gradients, summed over length-sorted chunks.

    Cancellation is checked between chunks too, so a stop request on a large support set is
    honoured within one chunk's time rather than one whole step's.
    """
    total_loss, total_grads = 0.0, None
    for _, chunk in support.chunks(chunk_size):
        check_cancel(should_stop)
        logits = head_logits(
            functional_call(model, encoder_params(params), args=(), kwargs=chunk.inputs), params
        )
        loss = F.cross_entropy(logits, chunk.labels) * (len(chunk) / len(support))
        grads = torch.autograd.grad(
            loss, list(params.values()), create_graph=create_graph, materialize_grads=True
        )
        total_grads = grads if total_grads is None else tuple(map(torch.add, total_grads, grads))
        total_loss += loss.detach()
    return torch.as_tensor(total_loss), total_grads


def inner_loop(
    model: AdaptedEncoder,
    params: Params,
    support: Batch,
    steps: int,
    step_sizes: Params,
    *,
    order: Order = Order.NONE,
    chunk_size: int = 32,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> Params:
    """Run `steps` SGD steps on `params` (phi and head) with per-tensor `step_sizes` (alpha).

    With `order=Order.SECOND` the result is differentiable with respect to the initial
    params, the step sizes and the model's own (omega) parameters; `Order.FIRST` keeps the
    paths through the initial params and step sizes only. Raises `Cancelled` when
    `should_stop()` turns true between steps.
    """
    for step in range(steps):
        check_cancel(should_stop)
        loss, params = sgd_step(model, params, support, step_sizes, order, chunk_size, should_stop)
        if progress is not None:
            progress(ProgressEvent("Fine-tuning", step + 1, steps, {"loss": loss.item()}))
    return detached(params) if order is Order.NONE else params


def sgd_step(
    model: AdaptedEncoder,
    params: Params,
    support: Batch,
    step_sizes: Params,
    order: Order,
    chunk_size: int,
    should_stop: StopCheck | None,
) -> tuple[torch.Tensor, Params]:
    """The support loss at `params`, and `params` after one step (eq. 4)."""
    # Below second order, gradients are taken at a detached copy: they count as constants.
    current = params if order is Order.SECOND else detached(params)
    loss, grads = support_gradients(
        model,
        current,
        support,
        create_graph=order is Order.SECOND,
        chunk_size=chunk_size,
        should_stop=should_stop,
    )
    stepped = {name: p - step_sizes[name] * g for (name, p), g in zip(params.items(), grads)}
    return loss, stepped


def fit_lowest_loss(
    model: AdaptedEncoder,
    params: Params,
    examples: Batch,
    steps: int,
    step_sizes: Params,
    *,
    chunk_size: int = 32,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> tuple[Params, int]:
    """Use-time steps that keep the iterate with the lowest loss on `examples`, and its count.

    The learned step sizes were meta-learned for S steps; run longer (the held-out choice
    allows up to 2S) they can overshoot on a task: the training loss jumps and accuracy
    collapses (dev suite sick_e, split 6, k = 16: the loss went 0.25 -> 0.54 at step 14 and
    accuracy to chance). While the loss falls this is `inner_loop` plus one forward pass.
    """
    best_loss, best_params, best_steps = float("inf"), params, 0
    for step in range(steps + 1):
        check_cancel(should_stop)
        if step == steps:  # the last iterate: its loss needs no gradient
            loss, stepped = evaluate(model, params, examples, chunk_size)[0], None
        else:
            loss, stepped = sgd_step(
                model, params, examples, step_sizes, Order.NONE, chunk_size, should_stop
            )
            loss = loss.item()
        if loss < best_loss:
            best_loss, best_params, best_steps = loss, params, step
        if stepped is not None:
            params = detached(stepped)
            if progress is not None:
                progress(ProgressEvent("Fine-tuning", step + 1, steps, {"loss": loss}))
    return detached(best_params), best_steps


def choose_steps(
    model: AdaptedEncoder,
    params: Params,
    support: Batch,
    held_out: Batch,
    step_sizes: Params,
    *,
    min_steps: int,
    max_steps: int,
    chunk_size: int = 32,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> tuple[int, float]:
    """The step count in [min_steps, max_steps] with the lowest loss on `held_out`, and the
    held-out accuracy there.

    Steps go on past the best count for at most `min_steps` more (patience), so tasks the
    learned steps already fit stop early and tasks that keep improving run to `max_steps`.
    """
    best_steps, best_loss, best_accuracy = 0, float("inf"), 0.0
    for step in range(1, max_steps + 1):
        params = inner_loop(
            model, params, support, 1, step_sizes, chunk_size=chunk_size, should_stop=should_stop
        )
        loss, accuracy = evaluate(model, params, held_out, chunk_size)
        if step >= min_steps and loss < best_loss:
            best_steps, best_loss, best_accuracy = step, loss, accuracy
        if progress is not None:
            metrics = {"held_out_loss": loss, "held_out_accuracy": accuracy}
            progress(ProgressEvent(CHOOSING_STEPS, step, max_steps, metrics))
        if step >= min_steps and step - best_steps >= min_steps:
            break
    return best_steps, best_accuracy


def evaluate(
    model: AdaptedEncoder, params: Params, batch: Batch, chunk_size: int
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of the adapted model on `batch`."""
    with torch.no_grad():
        logits = task_logits(model, params, batch, chunk_size)
    loss = F.cross_entropy(logits, batch.labels).item()
    return loss, (logits.argmax(-1) == batch.labels).float().mean().item()


def detached(params: Params) -> Params:
    """Fresh leaves with the same values, ready for another gradient."""
    return {name: p.detach().requires_grad_() for name, p in params.items()}
