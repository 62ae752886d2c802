"""The two files the engine writes: meta-adapter checkpoints and classifier (adapter) files.

A meta checkpoint is a folder: `meta.safetensors` (omega, phi_0, log alpha, log head scale)
and `config.json`. A classifier is one `.safetensors` file (adapters phi and head) whose JSON
metadata names the labels and fingerprints of everything it was trained against.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import reprlib
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors_bytes
from safetensors.torch import save as save_tensors_bytes

from engine.adapters import AdaptedEncoder, AdapterConfig
from engine.backbone import Backbone
from engine.files import atomic_write_bytes, atomic_write_text
from engine.head import HEAD_BIAS, HEAD_WEIGHT

FORMAT_VERSION = 1
META_WEIGHTS_FILE = "meta.safetensors"
META_CONFIG_FILE = "config.json"
CLASSIFIER_METADATA_KEY = "fewshot_classifier"
DEFAULT_STEPS = 5  # S: inner steps, fixed at meta-training time
# Untrained step sizes: chosen on a toy task so that an untrained checkpoint still learns.
DEFAULT_ADAPTER_STEP = 0.05
DEFAULT_HEAD_STEP = 0.5
DEFAULT_HEAD_SCALE = 10.0  # softmax temperature over cosine prototypes

Params = dict[str, torch.Tensor]


class FormatError(ValueError):
    """A checkpoint or classifier file is missing, corrupt, or made for something else."""


@dataclass
class MetaCheckpoint:
    """Everything meta-training learns: omega, phi_0, alpha, the head scale, and S."""

    config: AdapterConfig
    steps: int
    omega: Params
    phi0: Params
    log_alpha: Params  # one per phi tensor and head tensor; alpha = exp(log_alpha) > 0
    log_scale: torch.Tensor  # scalar
    backbone: str
    backbone_fingerprint: str
    training: dict = field(default_factory=dict)  # command, data, wall time; empty if untrained
    name: str = "untrained"

    @property
    def trained(self) -> bool:
        return bool(self.training)

    def tensors(self) -> Params:
        named = {"log_scale": self.log_scale.detach().reshape(())}
        for prefix, group in (
            ("omega", self.omega),
            ("phi0", self.phi0),
            ("log_alpha", self.log_alpha),
        ):
            named.update({f"{prefix}/{name}": t.detach() for name, t in group.items()})
        return {name: t.to("cpu", torch.float32).contiguous() for name, t in named.items()}

    @property
    def fingerprint(self) -> str:
        """sha256 of the tensors: a classifier records it to refuse a different checkpoint."""
        return hashlib.sha256(save_tensors_bytes(self.tensors())).hexdigest()[:16]

    def step_sizes(self) -> Params:
        return {name: value.exp() for name, value in self.log_alpha.items()}


def initial_meta_checkpoint(
    backbone: Backbone,
    config: AdapterConfig | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
) -> MetaCheckpoint:
    """The untrained checkpoint: identity meta-adapters and adapters, hand-picked step sizes."""
    config = config or AdapterConfig()
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
        torch.manual_seed(seed)
        model = AdaptedEncoder(backbone, config)
    phi0 = {n: p.detach().clone() for n, p in model.group("phi").items()}
    log_alpha = {n: torch.tensor(math.log(DEFAULT_ADAPTER_STEP)) for n in phi0}
    log_alpha.update(
        {n: torch.tensor(math.log(DEFAULT_HEAD_STEP)) for n in (HEAD_WEIGHT, HEAD_BIAS)}
    )
    return MetaCheckpoint(
        config=config,
        steps=steps,
        omega={n: p.detach().clone() for n, p in model.group("omega").items()},
        phi0=phi0,
        log_alpha=log_alpha,
        log_scale=torch.tensor(math.log(DEFAULT_HEAD_SCALE)),
        backbone=backbone.name,
        backbone_fingerprint=backbone.fingerprint,
    )


def save_meta_checkpoint(checkpoint: MetaCheckpoint, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "format_version": FORMAT_VERSION,
        "name": checkpoint.name,
        "adapter_config": dataclasses.asdict(checkpoint.config),
        "steps": checkpoint.steps,
        "backbone": checkpoint.backbone,
        "backbone_fingerprint": checkpoint.backbone_fingerprint,
        "fingerprint": checkpoint.fingerprint,
        "training": checkpoint.training,
    }
    atomic_write_bytes(folder / META_WEIGHTS_FILE, save_tensors_bytes(checkpoint.tensors()))
    atomic_write_text(folder / META_CONFIG_FILE, json.dumps(config, indent=2, sort_keys=True))
    return folder


def load_meta_checkpoint(folder: str | Path, *, backbone: Backbone | None = None) -> MetaCheckpoint:
    """Read a checkpoint folder; with `backbone`, also check it was trained for that encoder."""
    folder = Path(folder)
    weights_path, config_path = folder / META_WEIGHTS_FILE, folder / META_CONFIG_FILE
    if not weights_path.is_file() or not config_path.is_file():
        raise FormatError(
            f"`{folder}` is not a meta-adapter checkpoint: it needs both {META_WEIGHTS_FILE} "
            f"and {META_CONFIG_FILE}."
        )
    try:
        config = json.loads(config_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError(f"`{config_path}` is not valid JSON ({error}).") from error
    if isinstance(config, dict):
        _check_version(config.get("format_version"), config_path)
    check_fields(config, META_CONFIG_FIELDS, f"`{config_path}`", META_CONFIG_OPTIONAL)
    tensors = read_safetensors(weights_path)
    groups: dict[str, Params] = {"omega": {}, "phi0": {}, "log_alpha": {}}
    for name, tensor in tensors.items():
        prefix, _, rest = name.partition("/")
        if prefix in groups:
            groups[prefix][rest] = tensor
    checkpoint = MetaCheckpoint(
        config=AdapterConfig(**config["adapter_config"]),
        steps=int(config["steps"]),
        omega=groups["omega"],
        phi0=groups["phi0"],
        log_alpha=groups["log_alpha"],
        log_scale=tensors["log_scale"],
        backbone=config["backbone"],
        backbone_fingerprint=config["backbone_fingerprint"],
        training=config.get("training", {}),
        name=config.get("name", folder.name),
    )
    if backbone is not None and backbone.fingerprint != checkpoint.backbone_fingerprint:
        raise FormatError(
            f"The meta-adapter checkpoint `{folder}` was trained for backbone "
            f"{checkpoint.backbone!r} (fingerprint {checkpoint.backbone_fingerprint}), but the "
            f"loaded backbone is {backbone.name!r} (fingerprint {backbone.fingerprint}). Choose "
            "a checkpoint made for this backbone, or meta-train one."
        )
    return checkpoint


@dataclass
class ClassifierFile:
    """What a classifier file holds: adapter and head tensors plus their description."""

    tensors: Params  # phi (adapter) tensors by parameter name, plus head.weight / head.bias
    labels: list[str]
    backbone: str
    backbone_fingerprint: str
    meta_name: str
    meta_fingerprint: str
    meta_trained: bool
    pooling: str
    max_length: int
    adapter_config: dict
    training: dict  # examples per class, steps, held-out accuracy if measured, seconds
    unsure_below: float = 0.0  # a top probability under this reads "unsure" (0: never)
    created: str = ""
    format_version: int = FORMAT_VERSION


def save_classifier_file(content: ClassifierFile, path: str | Path) -> Path:
    content.created = content.created or datetime.datetime.now(datetime.timezone.utc).isoformat()
    description = {f.name: getattr(content, f.name) for f in dataclasses.fields(content)}
    del description["tensors"]
    tensors = {
        n: t.detach().to("cpu", torch.float32).contiguous() for n, t in content.tensors.items()
    }
    metadata = {CLASSIFIER_METADATA_KEY: json.dumps(description, sort_keys=True)}
    atomic_write_bytes(path, save_tensors_bytes(tensors, metadata=metadata))
    return Path(path)


def read_classifier_file(path: str | Path) -> ClassifierFile:
    """Read and validate a classifier file on its own; fingerprints are checked by the caller."""
    path = Path(path)
    if not path.is_file():
        raise FormatError(f"No classifier file at `{path}`.")
    tensors = read_safetensors(path)
    from safetensors import safe_open

    with safe_open(path, framework="pt") as handle:
        metadata = handle.metadata() or {}
    if CLASSIFIER_METADATA_KEY not in metadata:
        raise FormatError(
            f"`{path}` is a safetensors file but not a Fewshot Studio classifier (no "
            f"{CLASSIFIER_METADATA_KEY!r} metadata). Was it a meta checkpoint or a model's weights?"
        )
    try:
        description = json.loads(metadata[CLASSIFIER_METADATA_KEY])
    except json.JSONDecodeError as error:
        raise FormatError(f"`{path}`: its description is not valid JSON ({error}).") from error
    if isinstance(description, dict):
        _check_version(description.get("format_version"), path)
    where = f"`{path}` (classifier description)"
    check_fields(description, CLASSIFIER_FIELDS, where, CLASSIFIER_OPTIONAL)
    content = ClassifierFile(tensors=tensors, **description)
    weight, bias = tensors.get(HEAD_WEIGHT), tensors.get(HEAD_BIAS)
    if weight is None or weight.ndim != 2 or weight.shape[0] != len(content.labels):
        raise FormatError(
            f"`{path}` is inconsistent: {len(content.labels)} labels but a head of shape "
            f"{None if weight is None else tuple(weight.shape)}."
        )
    if bias is None or tuple(bias.shape) != (len(content.labels),):
        raise FormatError(f"`{path}` is inconsistent: the head's bias does not fit its labels.")
    not_float = sorted(n for n, t in tensors.items() if t.dtype != torch.float32)
    if not_float:
        raise FormatError(f"`{path}`: tensor(s) {not_float[:3]} are not float32.")
    return content


def check_compatible(
    content: ClassifierFile, backbone: Backbone, meta: MetaCheckpoint, path
) -> None:
    """Explain, in words, any mismatch between a classifier file and what it is loaded with."""
    if content.backbone_fingerprint != backbone.fingerprint:
        raise FormatError(
            f"`{path}` was trained on backbone {content.backbone!r} (fingerprint "
            f"{content.backbone_fingerprint}), but the loaded backbone is {backbone.name!r} "
            f"(fingerprint {backbone.fingerprint}). Load it with the backbone it was trained on."
        )
    if content.meta_fingerprint != meta.fingerprint:
        raise FormatError(
            f"`{path}` was trained with meta-adapter checkpoint {content.meta_name!r} (fingerprint "
            f"{content.meta_fingerprint}), but the loaded checkpoint is {meta.name!r} (fingerprint "
            f"{meta.fingerprint}). Select that checkpoint in Settings or with --meta."
        )


# Field -> (JSON type, check of the value or None, what a valid value is), per file.
CLASSIFIER_FIELDS = {
    "labels": (list, lambda v: len(v) >= 2 and all(isinstance(x, str) for x in v)
               and len(set(v)) == len(v), "a list of at least two distinct class names"),
    "backbone": (str, None, "the backbone's name"),
    "backbone_fingerprint": (str, None, "a fingerprint string"),
    "meta_name": (str, None, "the meta checkpoint's name"),
    "meta_fingerprint": (str, None, "a fingerprint string"),
    "meta_trained": (bool, None, "true or false"),
    "pooling": (str, lambda v: v in ("mean", "cls"), '"mean" or "cls"'),
    "max_length": (int, lambda v: 8 <= v <= 8192, "a whole number of tokens from 8 to 8192"),
    "adapter_config": (dict, None, "an object of adapter widths"),
    "training": (dict, None, "an object describing the training run"),
    "unsure_below": (float, lambda v: 0.0 <= v < 1.0, "a probability from 0 up to (not) 1"),
    "created": (str, None, "a date and time"),
    "format_version": (int, lambda v: v >= 1, "a whole number, 1 or more"),
}  # fmt: skip
META_CONFIG_FIELDS = {
    "format_version": CLASSIFIER_FIELDS["format_version"],
    "name": (str, None, "the checkpoint's name"),
    "adapter_config": (dict, None, "an object of adapter widths"),
    "steps": (int, lambda v: 1 <= v <= 1000, "a whole number of inner steps from 1 to 1000"),
    "backbone": (str, None, "the backbone's name"),
    "backbone_fingerprint": (str, None, "a fingerprint string"),
    "fingerprint": (str, None, "a fingerprint string"),
    "training": (dict, None, "an object describing the training run"),
}
CLASSIFIER_OPTIONAL = frozenset({"created", "unsure_below"})
META_CONFIG_OPTIONAL = frozenset({"fingerprint", "training", "name"})


def check_fields(data: object, fields: dict, where: str, optional: frozenset = frozenset()) -> dict:
    """`data` as a dict whose every field has the type and range `fields` says (those in
    `optional` may be absent), else a FormatError naming `where`, the field and what was
    expected."""
    if not isinstance(data, dict):
        raise FormatError(f"{where}: expected a JSON object of fields, got {type(data).__name__}.")
    extra = sorted(set(data) - set(fields))
    if extra:
        raise FormatError(f"{where}: unknown field(s) {extra}; it was not written by this version.")
    for name, (kind, valid, expected) in fields.items():
        if name not in data:
            if name in optional:
                continue
            raise FormatError(f"{where}: the field `{name}` is missing (expected {expected}).")
        value = data[name]
        wrong_type = not isinstance(value, kind) or (kind is int and isinstance(value, bool))
        if wrong_type or (valid is not None and not valid(value)):
            shown = reprlib.repr(value)  # a long list or text, shortened: the message stays short
            raise FormatError(f"{where}: the field `{name}` is {shown}; expected {expected}.")
    return data


def read_safetensors(path: Path) -> Params:
    try:
        return load_tensors_bytes(path.read_bytes())
    except (SafetensorError, ValueError, RuntimeError, json.JSONDecodeError) as error:
        raise FormatError(
            f"`{path}` is corrupt or truncated and cannot be read ({error}). "
            "Export or copy it again from its source."
        ) from error


def _check_version(version, path: Path) -> None:
    if version is None:
        raise FormatError(f"`{path}` has no format version: it was not written by Fewshot Studio.")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise FormatError(
            f"`{path}` uses format version {version}, newer than this program's "
            f"{FORMAT_VERSION}: update Fewshot Studio to read it."
        )
