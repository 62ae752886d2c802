"""The outer loop: learn omega, phi_0, alpha (and the head scale) from many few-shot episodes.

    per task T:  phi'_T = inner_loop(phi_0, support_T)                          (eq. 4)
    (omega, phi_0, alpha) <- Adam( grad mean_T L(query_T; omega, phi'_T) )      (eq. 5)

Runs on one device or under `torchrun` (each rank samples its own episodes; gradients of
the meta-parameters are averaged across ranks before every step; rank 0 alone validates and
writes checkpoints: engine.distributed).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import platform
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from engine.adapters import AdaptedEncoder, AdapterConfig
from engine.backbone import Backbone, encode_texts
from engine.distributed import Ranks, average_gradients, init_distributed
from engine.finetune import Batch, Order, inner_loop, prototype_start, task_logits
from engine.formats import (
    DEFAULT_STEPS,
    FormatError,
    MetaCheckpoint,
    check_fields,
    initial_meta_checkpoint,
    load_meta_checkpoint,
    read_safetensors,
    save_meta_checkpoint,
)
from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel
from engine.tasks import Episode, EpisodeShape

log = logging.getLogger(__name__)
TRAINER_STATE = "trainer_state"  # .safetensors (optimizer tensors) + .json (step, config, history)
ADAM_MOMENTS = frozenset({"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"})  # last: amsgrad
REQUIRED_MOMENTS = frozenset({"step", "exp_avg", "exp_avg_sq"})
# Field -> (JSON type, check of the value or None, what a valid value is), as in formats.py.
TRAINER_STATE_FIELDS = {
    "step": (int, lambda v: v >= 1, "the number of outer steps done, 1 or more"),
    "param_groups": (list, lambda v: len(v) == 2 and all(isinstance(g, dict) for g in v),
                     "the optimizer's two parameter groups"),
    "config": (dict, None, "the run's settings"),
    "history": (list, lambda v: all(isinstance(r, dict) and all(map(is_number, r.values()))
                                    for r in v), "a list of per-step records of numbers"),
    "seconds": ((int, float), lambda v: is_number(v) and 0 <= v < math.inf,
                "seconds of training, 0 or more"),
}  # fmt: skip
# Torch versions add and drop optimizer flags; only what Adam's step needs must be present.
OPTIONAL_GROUP_FIELDS = frozenset(
    {"amsgrad", "maximize", "foreach", "capturable", "differentiable", "fused",
     "decoupled_weight_decay"}
)  # fmt: skip


@dataclass(frozen=True)
class MetaTrainConfig:
    outer_steps: int = 1000
    meta_batch: int = 4  # tasks per outer step (per rank)
    inner_steps: int = DEFAULT_STEPS  # S: fixed here, used as-is at fine-tuning time
    order: Order = Order.SECOND  # FIRST halves the cost; SECOND is exact
    lam: float = 0.5  # probability of a supervised task (vs SMLMT)
    task_sampling: str = "sqrt-size"  # a TaskSampling value: how supervised datasets are drawn
    shape: EpisodeShape = field(default_factory=EpisodeShape)
    max_length: int = 64  # tokens; short keeps CPU episodes affordable
    lr: float = 1e-3  # Adam on omega and phi_0
    alpha_lr: float = 1e-2  # Adam on log alpha and log head scale
    clip_norm: float = 1.0
    checkpoint_every: int = 25
    validate_every: int = 50
    validation_episodes: int = 16
    seed: int = 0
    adapter: AdapterConfig = field(default_factory=AdapterConfig)
    train_meta_adapters: bool = True  # False: the MAML-Adapters ablation (omega stays identity)

    def __post_init__(self):
        for name in ("outer_steps", "meta_batch", "inner_steps", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be at least 1, got {getattr(self, name)}.")

    def to_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["order"] = self.order.value
        return json.loads(json.dumps(data))  # tuples as lists: equal to what a resume reads back


class MetaParameters:
    """omega (inside the model), phi_0, log alpha and log head scale, as leaf tensors."""

    def __init__(
        self,
        backbone: Backbone,
        checkpoint: MetaCheckpoint,
        device: torch.device,
        *,
        train_omega: bool = True,
    ):
        self.model = AdaptedEncoder(backbone, checkpoint.config).to(device)
        self.model.load_state_dict(checkpoint.omega, strict=False)
        for name, parameter in self.model.named_parameters():
            parameter.requires_grad_(train_omega and name in checkpoint.omega)

        def leaf(tensor: torch.Tensor) -> torch.Tensor:
            return tensor.detach().to(device).clone().requires_grad_()

        self.phi0 = {n: leaf(t) for n, t in checkpoint.phi0.items()}
        self.log_alpha = {n: leaf(t) for n, t in checkpoint.log_alpha.items()}
        self.log_scale = leaf(checkpoint.log_scale)
        self.checkpoint = checkpoint

    def named(self) -> dict[str, torch.Tensor]:
        """Every meta-parameter under a unique, stable name (optimizer order, all-reduce)."""
        named = {f"omega/{n}": p for n, p in self.model.named_parameters() if p.requires_grad}
        named.update({f"phi0/{n}": p for n, p in self.phi0.items()})
        named.update({f"log_alpha/{n}": p for n, p in self.log_alpha.items()})
        named["log_scale"] = self.log_scale
        return named

    def optimizer(self, config: MetaTrainConfig) -> torch.optim.Adam:
        fast = [p for n, p in self.named().items() if n.startswith(("omega/", "phi0/"))]
        slow = list(self.log_alpha.values()) + [self.log_scale]
        return torch.optim.Adam(
            [{"params": fast, "lr": config.lr}, {"params": slow, "lr": config.alpha_lr}]
        )

    def to_checkpoint(self, **changes) -> MetaCheckpoint:
        parameters = dict(self.model.named_parameters())
        omega = {n: parameters[n] for n in self.checkpoint.omega}
        return dataclasses.replace(
            self.checkpoint,
            omega={n: p.detach().cpu().clone() for n, p in omega.items()},
            phi0={n: p.detach().cpu().clone() for n, p in self.phi0.items()},
            log_alpha={n: p.detach().cpu().clone() for n, p in self.log_alpha.items()},
            log_scale=self.log_scale.detach().cpu().clone(),
            **changes,
        )


def encode_episode(backbone: Backbone, episode: Episode, max_length: int) -> tuple[Batch, Batch]:
    def batch(texts, labels):
        inputs = encode_texts(backbone, texts, max_length)
        return Batch(inputs, torch.tensor(labels, device=inputs["input_ids"].device))

    return batch(episode.support, episode.support_labels), batch(
        episode.query, episode.query_labels
    )


def episode_loss(
    meta: MetaParameters, support: Batch, query: Batch, steps: int, order: Order
) -> tuple[torch.Tensor, float]:
    """Query loss and accuracy of the model adapted on the support set."""
    num_classes = int(support.labels.max()) + 1
    with torch.set_grad_enabled(order is not Order.NONE):
        params = prototype_start(meta.model, meta.phi0, support, num_classes, meta.log_scale.exp())
    if order is Order.NONE:
        params = {n: p.detach().requires_grad_() for n, p in params.items()}
    step_sizes = {n: p.exp() for n, p in meta.log_alpha.items()}
    adapted = inner_loop(meta.model, params, support, steps, step_sizes, order=order)
    with torch.set_grad_enabled(order is not Order.NONE):
        logits = task_logits(meta.model, adapted, query)
        loss = F.cross_entropy(logits, query.labels)
    accuracy = (logits.argmax(-1) == query.labels).float().mean().item()
    return loss, accuracy


def meta_gradients(
    meta: MetaParameters, backbone: Backbone, sampler, config: MetaTrainConfig, step: int, rank: int
) -> tuple[list[float], list[float]]:
    """Accumulate this rank's share of the step's meta-gradient; return query losses, accuracies.

    The episodes of (step, rank) depend on nothing else, which makes resume exact.
    """
    rng = random.Random(f"{config.seed}-{rank}-{step}")
    losses, accuracies = [], []
    for _ in range(config.meta_batch):
        support, query = encode_episode(backbone, sampler.sample(rng), config.max_length)
        loss, accuracy = episode_loss(meta, support, query, config.inner_steps, config.order)
        (loss / config.meta_batch).backward()
        losses.append(loss.item())
        accuracies.append(accuracy)
    return losses, accuracies


# ---- checkpoints and resume -------------------------------------------------------------
def save_trainer_state(
    folder: Path, optimizer, meta: MetaParameters, step: int, extra: dict
) -> None:
    """Optimizer moments as safetensors, the rest as JSON: resumable without pickle."""
    names = list(meta.named())
    state = optimizer.state_dict()
    tensors = {
        f"{names[index]}::{key}": value.detach().cpu()
        for index, moments in state["state"].items()
        for key, value in moments.items()
    }
    temp = folder / f".{TRAINER_STATE}.safetensors.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, temp)
    temp.replace(folder / f"{TRAINER_STATE}.safetensors")
    info = {"step": step, "param_groups": state["param_groups"], **extra}
    temp = folder / f".{TRAINER_STATE}.json.tmp"
    temp.write_text(json.dumps(info, indent=2, sort_keys=True))
    temp.replace(folder / f"{TRAINER_STATE}.json")


def load_trainer_state(folder: Path, optimizer, meta: MetaParameters) -> dict:
    """Put the optimizer state saved in `folder` into `optimizer`; return the JSON part.
    Raises FormatError when either file is damaged or does not fit these meta-parameters."""
    info = read_trainer_info(folder)
    where = f"`{Path(folder) / TRAINER_STATE}.json` `param_groups`"
    fresh = optimizer.state_dict()["param_groups"]
    for group, new in zip(info["param_groups"], fresh):
        check_fields(group, param_group_fields(new), where, OPTIONAL_GROUP_FIELDS & set(new))
    named = meta.named()
    tensors = read_moments(folder, named)
    names, device = list(named), meta.log_scale.device
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        name, _, moment = key.partition("::")
        state.setdefault(names.index(name), {})[moment] = value.to(device)
    optimizer.load_state_dict({"state": state, "param_groups": info["param_groups"]})
    return info


def read_trainer_info(folder: Path) -> dict:
    """trainer_state.json of `folder`, every field checked; FormatError names the field."""
    path = Path(folder) / f"{TRAINER_STATE}.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"`{path}` is not valid JSON ({error}).") from error
    check_fields(info, TRAINER_STATE_FIELDS, f"`{path}`")
    fields = stored_config_fields()
    check_fields(info["config"], fields, f"`{path}` `config`", frozenset(fields))  # older: fewer
    planned = info["config"].get("outer_steps", info["step"])
    if info["step"] > planned:
        raise FormatError(f"`{path}`: `step` is {info['step']}, past the {planned} planned.")
    return info


def read_moments(folder: Path, named: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """trainer_state.safetensors of `folder`, checked against the meta-parameters `named`."""
    path = Path(folder) / f"{TRAINER_STATE}.safetensors"
    if not path.is_file():
        raise FormatError(f"`{path}` is missing: it holds the optimizer state of the run.")
    tensors = read_safetensors(path)
    check_moments(path, tensors, named)
    return tensors


def check_moments(path: Path, tensors: dict, named: dict[str, torch.Tensor]) -> None:
    """Every saved tensor an Adam moment of a meta-parameter, of its shape and dtype (`step`:
    one floating-point number), and every parameter with state has all three moments."""
    found: dict[str, set] = {}
    for key, value in tensors.items():
        name, _, moment = key.partition("::")
        if name not in named or moment not in ADAM_MOMENTS:
            raise FormatError(
                f"`{path}` holds {key!r}, not the optimizer state of these meta-parameters "
                f"(expected a parameter name, '::' and one of {sorted(ADAM_MOMENTS)})."
            )
        parameter = named[name]
        step = moment == "step"
        shape = () if step else tuple(parameter.shape)
        dtype_fits = value.is_floating_point() if step else value.dtype == parameter.dtype
        if tuple(value.shape) != shape or not dtype_fits:
            raise FormatError(
                f"`{path}`: {key!r} is {value.dtype} of shape {tuple(value.shape)}; expected "
                f"{'a float' if step else parameter.dtype} of shape {shape}."
            )
        found.setdefault(name, set()).add(moment)
    for name, moments in found.items():
        if REQUIRED_MOMENTS - moments:
            raise FormatError(f"`{path}`: {name!r} lacks {sorted(REQUIRED_MOMENTS - moments)}.")


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def stored_config_fields() -> dict:
    """A trainer state's `config`: each field of the JSON kind of its default (the values
    themselves are compared with the resuming run's settings)."""
    fields = {}
    for name, default in MetaTrainConfig().to_json().items():
        if isinstance(default, float):
            fields[name] = ((int, float), is_number, f"a number like the default {default!r}")
        else:
            fields[name] = (type(default), None, f"a value like the default {default!r}")
    fields["outer_steps"] = (int, lambda v: v >= 1, "a whole number of outer steps, 1 or more")
    return fields


def param_group_fields(fresh: dict) -> dict:
    """A saved optimizer parameter group, checked against the same group of a fresh optimizer:
    the same parameter indices, rates above 0, flags of the same kind."""
    fields = {
        name: ((bool, type(None)) if value is None or isinstance(value, bool) else type(value),
               None, f"a value like {value!r}")
        for name, value in fresh.items()
    }  # fmt: skip
    fields.update(
        params=(list, lambda v: v == fresh["params"], f"the {len(fresh['params'])} indices "
                "of this group's parameters"),
        lr=((int, float), lambda v: is_number(v) and 0 < v < math.inf, "a number above 0"),
        eps=((int, float), lambda v: is_number(v) and 0 < v < math.inf, "a number above 0"),
        weight_decay=((int, float), lambda v: is_number(v) and v >= 0, "a number, 0 or more"),
        betas=(list, lambda v: len(v) == 2 and all(is_number(b) and 0 <= b < 1 for b in v),
               "two numbers from 0 up to 1"),
    )  # fmt: skip
    return fields


def check_resumable(folder: Path, config: MetaTrainConfig) -> None:
    """Refuse, from the files of `folder` alone (no backbone, no data: well under a second),
    a resume that would fail: a damaged trainer state (FormatError) or other settings."""
    if not (Path(folder) / f"{TRAINER_STATE}.json").is_file():
        return
    try:
        stored = {**MetaTrainConfig().to_json(), **read_trainer_info(folder)["config"]}
        # The checkpoint's tensors are named and shaped as the meta-parameters are.
        read_moments(folder, load_meta_checkpoint(folder).tensors())
    except FormatError as error:
        raise cannot_resume(folder, error) from error
    if trajectory_settings(stored) != trajectory_settings(config.to_json()):  # older: defaults
        raise ValueError(
            f"`{folder}` holds a run with a different configuration; resume it with the same "
            "options, or pass --restart (or another --out) to start afresh."
        )


def cannot_resume(folder: Path, error: FormatError) -> FormatError:
    return FormatError(
        f"Cannot resume the run in `{folder}`: {error} Pass --restart to discard it and start "
        "afresh, or choose another --out."
    )


@dataclass(frozen=True)
class StoppedRun:
    """A run stopped before its planned outer steps; `metatrain` on its folder continues it."""

    steps_done: int
    steps_planned: int


def stopped_run(folder: Path) -> StoppedRun | None:
    """The stopped run in `folder` (from its trainer state), or None when the run finished or
    the folder cannot be resumed (a shipped or copied checkpoint has no trainer state).
    A damaged trainer state raises FormatError."""
    if not (Path(folder) / f"{TRAINER_STATE}.json").is_file():
        return None
    info = read_trainer_info(folder)
    done, planned = info["step"], info["config"].get("outer_steps", 0)
    return StoppedRun(done, planned) if done < planned else None


# ---- the loop ---------------------------------------------------------------------------
@dataclass
class MetaTrainResult:
    checkpoint: MetaCheckpoint
    folder: Path
    history: list[dict]


def metatrain(
    backbone: Backbone,
    sampler,
    config: MetaTrainConfig,
    out_dir: str | Path,
    *,
    name: str = "meta",
    validation: list[Episode] | None = None,
    description: dict | None = None,
    init: MetaCheckpoint | None = None,
    resume: bool = True,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> MetaTrainResult:
    """Meta-train and write a checkpoint to `out_dir` every `checkpoint_every` steps.

    `sampler.sample(rng)` gives episodes; the rng of step t on rank r is seeded by
    (seed, r, t), so a run resumed from a checkpoint continues exactly as if never stopped.
    `description` (command, data summary) is stored in the checkpoint's training record.
    `init` starts a new run from a trained checkpoint instead of the untrained one (a new
    recipe on top of an old run; the optimizer starts fresh); a resume ignores it.
    Under torchrun, load `backbone` on `engine.distributed.rank_device()` (ValueError if not).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    device = backbone.device
    ranks = init_distributed(device)
    can_resume = resume and (out_dir / f"{TRAINER_STATE}.json").is_file()
    started_from = None
    if can_resume:
        start_checkpoint = load_meta_checkpoint(out_dir, backbone=backbone)
        started_from = start_checkpoint.training.get("started_from")
    elif init is not None:
        start_checkpoint, started_from = warm_start(init, config), lineage(init)
    else:
        start_checkpoint = initial_meta_checkpoint(
            backbone, config.adapter, steps=config.inner_steps, seed=config.seed
        )
    meta = MetaParameters(
        backbone,
        dataclasses.replace(start_checkpoint, name=name),
        device,
        train_omega=config.train_meta_adapters,
    )
    optimizer = meta.optimizer(config)
    first_step, history, seconds_before = 0, [], 0.0
    if can_resume:
        check_resumable(out_dir, config)  # the settings first: they decide the tensors
        try:
            info = load_trainer_state(out_dir, optimizer, meta)
        except FormatError as error:
            raise cannot_resume(out_dir, error) from error
        first_step, history, seconds_before = info["step"], info["history"], info["seconds"]
        log.info("Resuming %s at step %d.", out_dir, first_step)

    parameters = list(meta.named().values())
    started = time.perf_counter()
    for step in range(first_step, config.outer_steps):
        check_cancel(should_stop)
        optimizer.zero_grad(set_to_none=True)
        losses, accuracies = meta_gradients(meta, backbone, sampler, config, step, ranks.rank)
        average_gradients(parameters, ranks)
        torch.nn.utils.clip_grad_norm_(parameters, config.clip_norm)
        optimizer.step()

        done = step + 1
        elapsed = time.perf_counter() - started
        record = {
            "step": done,
            "loss": sum(losses) / len(losses),
            "accuracy": sum(accuracies) / len(accuracies),
        }
        due = done % config.validate_every == 0 or done == config.outer_steps
        if ranks.is_main and validation and due:  # the others go on to the next all-reduce
            record["val_accuracy"] = validate(meta, backbone, validation, config)
        history.append(record)
        if ranks.is_main and (done % config.checkpoint_every == 0 or done == config.outer_steps):
            seconds = seconds_before + elapsed
            training = {
                **(description or {}),
                **({"started_from": started_from} if started_from else {}),
                "config": config.to_json(),
                "outer_steps_done": done,
                "episodes": done * config.meta_batch * ranks.world,
                "seconds": round(seconds, 1),
                "final": summarize(history[-50:]),
                "hardware": hardware(device, ranks),
            }
            save_meta_checkpoint(meta.to_checkpoint(training=training), out_dir)
            save_trainer_state(
                out_dir,
                optimizer,
                meta,
                done,
                {"config": config.to_json(), "history": history, "seconds": seconds},
            )
        if progress is not None and ranks.is_main:
            rate = (done - first_step) * config.meta_batch * ranks.world / max(elapsed, 1e-9)
            eta = (config.outer_steps - done) * config.meta_batch * ranks.world / max(rate, 1e-9)
            metrics = {**record, "episodes_per_s": rate, "eta_s": eta}
            metrics.pop("step")
            progress(ProgressEvent("Meta-training", done, config.outer_steps, metrics))
    checkpoint = load_meta_checkpoint(out_dir) if ranks.is_main else meta.to_checkpoint()
    return MetaTrainResult(checkpoint, out_dir, history)


def warm_start(init: MetaCheckpoint, config: MetaTrainConfig) -> MetaCheckpoint:
    """`init` ready to train on: same widths required, S taken from the new config."""
    if init.config != config.adapter:
        raise ValueError(
            f"The starting checkpoint has adapter widths {init.config}, this run asks for "
            f"{config.adapter}; use the same --adapter-width and --meta-width."
        )
    return dataclasses.replace(init, steps=config.inner_steps, training={})


def lineage(init: MetaCheckpoint) -> dict:
    """What a warm-started run records about the run it started from."""
    keys = ("command", "outer_steps_done", "episodes", "seconds", "started_from")
    return {
        "fingerprint": init.fingerprint,
        **{k: init.training[k] for k in keys if k in init.training},
    }


def trajectory_settings(config: dict) -> dict:
    """The settings that change which parameters a step produces (not how long or how often
    progress is saved), so a resumed run may go on for more steps."""
    scheduling = ("outer_steps", "checkpoint_every", "validate_every", "validation_episodes")
    return {k: v for k, v in config.items() if k not in scheduling}


def validate(meta: MetaParameters, backbone: Backbone, episodes: list[Episode], config) -> float:
    """Mean query accuracy after use-time fine-tuning on fixed held-out episodes."""
    accuracies = []
    for episode in episodes:
        support, query = encode_episode(backbone, episode, config.max_length)
        _, accuracy = episode_loss(meta, support, query, config.inner_steps, Order.NONE)
        accuracies.append(accuracy)
    return sum(accuracies) / len(accuracies)


def summarize(records: list[dict]) -> dict:
    keys = {k for r in records for k in r if k != "step"}
    return {
        k: round(sum(r[k] for r in records if k in r) / sum(k in r for r in records), 4)
        for k in sorted(keys)
    }


def hardware(device: torch.device, ranks: Ranks) -> dict:
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    return {
        "device": str(device),
        "device_name": name or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "world_size": ranks.world,
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
