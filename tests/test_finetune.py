"""The inner loop: which parameters move, and what the outer loop can differentiate."""

import dataclasses

import pytest
import torch
from conftest import make_tiny_backbone

from engine.adapters import AdaptedEncoder, AdapterConfig
from engine.backbone import encode_texts
from engine.finetune import Batch, Order, evaluate, inner_loop
from engine.formats import initial_meta_checkpoint
from engine.head import prototype_head
from engine.metatrain import MetaParameters, episode_loss
from engine.progress import Cancelled

SUPPORT = ["goal scored late", "the match ended", "bake the cake", "stir the soup"]
QUERY = ["a penalty kick", "whisk the eggs"]


def batch(backbone, texts, labels):
    return Batch(encode_texts(backbone, texts, max_length=16), torch.tensor(labels))


def nonzero_meta(backbone, dtype=torch.float32, seed=0):
    """An untrained checkpoint with small random up-projections, so every path carries gradient."""
    checkpoint = initial_meta_checkpoint(
        backbone, AdapterConfig(adapter_width=4, meta_width=3), steps=2
    )
    generator = torch.Generator().manual_seed(seed)

    def jitter(group):
        return {
            n: (
                t + 0.05 * torch.randn(t.shape, generator=generator, dtype=t.dtype)
                if ".up." in n
                else t
            ).to(dtype)
            for n, t in group.items()
        }

    return dataclasses.replace(
        checkpoint,
        omega=jitter(checkpoint.omega),
        phi0=jitter(checkpoint.phi0),
        log_alpha={n: t.to(dtype) for n, t in checkpoint.log_alpha.items()},
        log_scale=checkpoint.log_scale.to(dtype),
    )


def test_fine_tuning_moves_only_phi_and_head(tiny_backbone):
    checkpoint = nonzero_meta(tiny_backbone)
    model = AdaptedEncoder(tiny_backbone, checkpoint.config)
    model.load_state_dict(checkpoint.omega, strict=False)
    model.requires_grad_(False)
    before = {n: p.clone() for n, p in model.state_dict().items()}
    support = batch(tiny_backbone, SUPPORT, [0, 0, 1, 1])
    with torch.no_grad():
        features = model(**support.inputs)
    head = prototype_head(features, support.labels, 2, torch.tensor(10.0))
    params = {n: t.clone().requires_grad_() for n, t in {**checkpoint.phi0, **head}.items()}
    events = []
    fitted = inner_loop(model, params, support, 3, checkpoint.step_sizes(), progress=events.append)
    assert [e.done for e in events] == [1, 2, 3] and events[-1].total == 3
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[n], t) for n, t in model.state_dict().items())
    assert all(t.grad_fn is None for t in fitted.values())  # use time: nothing to differentiate
    moved = {n for n in params if not torch.equal(params[n], fitted[n])}
    assert moved == set(params)  # every adapter tensor and the head took steps
    assert evaluate(model, fitted, support, 32)[0] < evaluate(model, params, support, 32)[0]


@pytest.mark.parametrize("order", [Order.SECOND, Order.FIRST])
def test_meta_gradients_reach_omega_phi0_alpha_and_scale(tiny_backbone, order):
    meta = MetaParameters(tiny_backbone, nonzero_meta(tiny_backbone), torch.device("cpu"))
    support = batch(tiny_backbone, SUPPORT, [0, 0, 1, 1])
    query = batch(tiny_backbone, QUERY, [0, 1])
    loss, _ = episode_loss(meta, support, query, steps=2, order=order)
    loss.backward()
    missing = [n for n, p in meta.named().items() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []
    assert all(p.grad is None for n, p in meta.model.named_parameters() if not p.requires_grad)


def test_second_order_gradient_matches_finite_differences():
    backbone = make_tiny_backbone("bert", dtype=torch.float64)
    meta = MetaParameters(backbone, nonzero_meta(backbone, torch.float64), torch.device("cpu"))
    support = batch(backbone, SUPPORT, [0, 0, 1, 1])
    query = batch(backbone, QUERY, [0, 1])

    def query_loss():
        return episode_loss(meta, support, query, steps=2, order=Order.SECOND)[0]

    query_loss().backward()
    alpha_name = next(n for n in meta.log_alpha if ".down.weight" in n)
    omega_name = next(n for n in meta.named() if n.startswith("omega/") and ".up.weight" in n)
    for tensor in (meta.log_alpha[alpha_name], meta.named()[omega_name]):
        index = (0,) * tensor.dim()
        analytic = tensor.grad[index].item()
        eps = 1e-5
        losses = []
        for shift in (eps, -2 * eps, eps):
            with torch.no_grad():
                tensor[index] += shift
            losses.append(query_loss().item())
        numeric = (losses[0] - losses[1]) / (2 * eps)
        assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-9)


def use_time_setup(backbone):
    """A frozen model, a support batch and fresh phi + head leaves, as fine-tuning has them."""
    checkpoint = nonzero_meta(backbone)
    model = AdaptedEncoder(backbone, checkpoint.config).requires_grad_(False)
    support = batch(backbone, SUPPORT, [0, 0, 1, 1])
    head = prototype_head(model(**support.inputs), support.labels, 2, torch.tensor(10.0))
    params = {
        n: t.detach().clone().requires_grad_() for n, t in {**checkpoint.phi0, **head}.items()
    }
    return checkpoint, model, support, params


def test_cancel_between_steps(tiny_backbone):
    checkpoint, model, support, params = use_time_setup(tiny_backbone)
    steps_seen = []
    with pytest.raises(Cancelled):
        inner_loop(
            model,
            params,
            support,
            5,
            checkpoint.step_sizes(),
            progress=lambda e: steps_seen.append(e.done),
            should_stop=lambda: len(steps_seen) >= 2,
        )
    assert steps_seen == [1, 2]


def test_chunked_gradients_equal_one_batch(tiny_backbone):
    from engine.finetune import support_gradients

    _, model, support, params = use_time_setup(tiny_backbone)
    whole = support_gradients(model, params, support, create_graph=False, chunk_size=64)
    chunked = support_gradients(model, params, support, create_graph=False, chunk_size=3)
    assert torch.allclose(whole[0], chunked[0], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(whole[1], chunked[1]))


def test_length_sorted_trimmed_chunks_give_the_full_batch_gradients(tiny_backbone):
    """One long text among short ones: every chunk is cut to its own longest row, yet the
    loss and gradients are those of the whole batch padded to the longest text."""
    from torch.func import functional_call
    from torch.nn import functional as F

    from engine.finetune import encoder_params, pooled_features, support_gradients
    from engine.head import head_logits

    checkpoint, model, _, params = use_time_setup(tiny_backbone)
    texts = SUPPORT + [" ".join(["a long sentence about the harbour"] * 12)] + QUERY
    mixed = Batch(
        encode_texts(tiny_backbone, texts, max_length=64), torch.tensor([0, 0, 1, 1, 0, 0, 1])
    )
    widths = [chunk.inputs["input_ids"].shape[1] for _, chunk in mixed.chunks(3)]
    assert widths[0] < widths[-1] == mixed.inputs["input_ids"].shape[1]  # short chunks are cut
    features = functional_call(model, encoder_params(params), args=(), kwargs=mixed.inputs)
    loss = F.cross_entropy(head_logits(features, params), mixed.labels)
    expected = torch.autograd.grad(loss, list(params.values()), materialize_grads=True)
    got_loss, got = support_gradients(model, params, mixed, create_graph=False, chunk_size=3)
    assert torch.allclose(got_loss, loss.detach(), atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(expected, got))
    with torch.no_grad():  # and the features come back in the batch's own order
        assert torch.allclose(
            pooled_features(model, encoder_params(params), mixed, 3), features, atol=1e-6
        )


def test_cancel_is_checked_between_chunks_of_one_step(tiny_backbone):
    checkpoint, model, support, params = use_time_setup(tiny_backbone)
    checks, steps_seen = [], []

    def stop_on_third_check():
        checks.append(1)
        return len(checks) >= 3  # once before the step, then between chunks

    with pytest.raises(Cancelled):
        inner_loop(
            model,
            params,
            support,
            5,
            checkpoint.step_sizes(),
            chunk_size=1,
            progress=lambda e: steps_seen.append(e.done),
            should_stop=stop_on_third_check,
        )
    assert steps_seen == []  # stopped inside the first step


@pytest.mark.parametrize("step_scale, stops_early", [(1.0, False), (300.0, True)])
def test_choose_steps_picks_the_lowest_held_out_loss_and_stops_after_patience(
    tiny_backbone, step_scale, stops_early
):
    """Small steps keep improving to the cap; huge ones diverge and stop `min_steps` later."""
    from engine.finetune import CHOOSING_STEPS, choose_steps

    checkpoint, model, support, params = use_time_setup(tiny_backbone)
    step_sizes = {n: step_scale * a for n, a in checkpoint.step_sizes().items()}
    held_out = batch(tiny_backbone, QUERY, [0, 1])
    events = []
    steps, accuracy = choose_steps(
        model,
        params,
        support,
        held_out,
        step_sizes,
        min_steps=2,
        max_steps=12,
        progress=events.append,
    )
    assert {e.stage for e in events} == {CHOOSING_STEPS}
    losses = {e.done: e.metrics["held_out_loss"] for e in events}
    tried = [s for s in losses if s >= 2]
    assert steps == min(tried, key=losses.get)
    assert accuracy == events[steps - 1].metrics["held_out_accuracy"]
    assert len(events) == (steps + 2 if stops_early else 12)


@pytest.mark.parametrize("step_scale", [1.0, 300.0])
def test_fit_lowest_loss_undoes_a_step_that_overshoots(tiny_backbone, step_scale):
    """Small steps: the same iterate as `inner_loop`. Huge ones: the loss rises at some step,
    and the iterate returned is the lowest-loss one seen, with its step count."""
    from engine.finetune import fit_lowest_loss

    checkpoint, model, support, params = use_time_setup(tiny_backbone)
    step_sizes = {n: step_scale * a for n, a in checkpoint.step_sizes().items()}
    events = []
    fitted, steps = fit_lowest_loss(model, params, support, 8, step_sizes, progress=events.append)
    plain = inner_loop(model, params, support, 8, step_sizes)
    losses = [e.metrics["loss"] for e in events] + [evaluate(model, plain, support, 32)[0]]
    assert steps == min(range(9), key=losses.__getitem__)
    assert evaluate(model, fitted, support, 32)[0] == pytest.approx(min(losses), rel=1e-5)
    assert all(t.grad_fn is None for t in fitted.values())
    if step_scale == 1.0:
        assert steps == 8 and all(torch.equal(fitted[n], plain[n]) for n in plain)
    else:
        assert steps < 8 and max(losses[steps:]) > losses[steps]


def test_the_refitted_head_is_the_regularised_logistic_regression_optimum():
    from engine.head import HEAD_BIAS, HEAD_WEIGHT, fit_linear_head

    generator = torch.Generator().manual_seed(0)
    features = torch.nn.functional.normalize(torch.randn(60, 8, generator=generator), dim=1)
    labels = (features[:, 0] + 0.05 * torch.randn(60, generator=generator) > 0).long()
    start = {HEAD_WEIGHT: torch.zeros(2, 8), HEAD_BIAS: torch.zeros(2)}
    head = fit_linear_head(features, labels, start, c=1.0)
    weight = head[HEAD_WEIGHT].clone().requires_grad_()
    bias = head[HEAD_BIAS].clone().requires_grad_()
    objective = torch.nn.functional.cross_entropy(features @ weight.T + bias, labels) + (
        weight**2
    ).sum() / (2 * 1.0 * len(labels))
    objective.backward()
    assert weight.grad.abs().max() < 1e-4 and bias.grad.abs().max() < 1e-4
    accuracy = ((features @ head[HEAD_WEIGHT].T + head[HEAD_BIAS]).argmax(1) == labels).float()
    assert accuracy.mean() > 0.8


def test_a_class_name_counts_as_weighted_examples_in_the_prototype():
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1, 1])
    prior = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    weight = torch.tensor([1.0, 2.0, 1.0])  # class 2 has no example: its name alone
    head = prototype_head(features, labels, 3, torch.tensor(1.0), prior, weight)
    prototypes = head["head.weight"] / 2
    expected = torch.tensor([[0.5, 0.5], [0.5, 0.5], [0.6, 0.8]])
    assert torch.allclose(prototypes, expected)
