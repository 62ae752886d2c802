"""Adapters and meta-adapters at the two Houlsby sites of every layer of a frozen encoder.

At each site the frozen projection is followed by

    h -> MA_below(h) -> A(.) -> MA_above(.)        each block: x + W_up(act(W_down x))

then the layer's own dropout, residual add and LayerNorm. Parameter groups:
theta (the frozen encoder), omega (meta-adapters), phi (adapters, fine-tuned per task).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass

import torch
from torch import nn

from engine.backbone import Backbone, Pooling, pool

ADAPTER = "adapter"
META_BELOW = "meta_below"
META_ABOVE = "meta_above"

# model_type -> (the list of layers, the two site projections inside a layer)
SITE_TABLE: dict[str, tuple[str, tuple[str, str]]] = {
    "bert": ("encoder.layer", ("attention.output.dense", "output.dense")),
    "roberta": ("encoder.layer", ("attention.output.dense", "output.dense")),
    "xlm-roberta": ("encoder.layer", ("attention.output.dense", "output.dense")),
    "electra": ("encoder.layer", ("attention.output.dense", "output.dense")),
    "distilbert": ("transformer.layer", ("attention.out_lin", "ffn.lin2")),
    "mpnet": ("encoder.layer", ("attention.attn.o", "output.dense")),
}
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU, "tanh": nn.Tanh}


@dataclass(frozen=True)
class AdapterConfig:
    adapter_width: int = 12  # m_a: 12 keeps a classifier file under 0.6% of MiniLM's parameters
    meta_width: int = 16  # m_omega: the paper found 16 better than 32; 8 still useful
    activation: str = "gelu"
    init_std: float = 0.02  # down-projections; up-projections start at zero (identity)

    def __post_init__(self):
        for name in ("adapter_width", "meta_width"):
            if getattr(self, name) < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {getattr(self, name)}.")
        if self.activation not in ACTIVATIONS:
            raise ValueError(
                f"`activation` must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}."
            )


class Bottleneck(nn.Module):
    """x + W_up(act(W_down x)); the identity while W_up is zero."""

    def __init__(self, dim: int, width: int, config: AdapterConfig):
        super().__init__()
        self.down = nn.Linear(dim, width)
        self.act = ACTIVATIONS[config.activation]()
        self.up = nn.Linear(width, dim)
        nn.init.normal_(self.down.weight, std=config.init_std)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, D) -> (B, T, D)
        return x + self.up(self.act(self.down(x)))


class AdaptedSite(nn.Module):
    """A frozen projection followed by MA_below -> A -> MA_above."""

    def __init__(self, base: nn.Linear, config: AdapterConfig):
        super().__init__()
        dim = base.out_features
        self.base = base
        self.meta_below = Bottleneck(dim, config.meta_width, config)
        self.adapter = Bottleneck(dim, config.adapter_width, config)
        self.meta_above = Bottleneck(dim, config.meta_width, config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.meta_above(self.adapter(self.meta_below(self.base(x))))


def site_names(model: nn.Module) -> list[str]:
    """Dotted names of every site projection, in layer order."""
    model_type = model.config.model_type
    if model_type not in SITE_TABLE:
        raise ValueError(
            f"No adapter sites known for model type {model_type!r}; supported: "
            f"{', '.join(sorted(SITE_TABLE))}."
        )
    layers_name, sites = SITE_TABLE[model_type]
    layers = model.get_submodule(layers_name)
    return [f"{layers_name}.{i}.{site}" for i in range(len(layers)) for site in sites]


def inject_adapters(model: nn.Module, config: AdapterConfig) -> nn.Module:
    """Wrap every site of `model` (in place) with meta-adapters and an adapter."""
    for name in site_names(model):
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        base = getattr(parent, child)
        site = AdaptedSite(base, config).to(base.weight.device, base.weight.dtype)
        setattr(parent, child, site)
    return model


def frozen_tensors(model: nn.Module) -> dict[int, torch.Tensor]:
    """A deepcopy memo that maps every weight and buffer of `model` to itself: the copy gets
    new modules around the same tensors."""
    return {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}


def parameter_group(name: str) -> str:
    """ "omega", "phi" or "theta" for a parameter name of an adapted model."""
    parts = name.split(".")
    if ADAPTER in parts:
        return "phi"
    if META_BELOW in parts or META_ABOVE in parts:
        return "omega"
    return "theta"


class AdaptedEncoder(nn.Module):
    """The frozen encoder with meta-adapters and adapters, pooled to one unit vector per text.

    Its modules are its own, so several classifiers (one training in a worker thread while
    another predicts) never share a mutable module; the frozen weights are the backbone's
    own tensors, read by all and written by none, so a process holds one copy of them
    (about 91 MB for MiniLM) however many classifiers and folds it runs. `copy_weights`
    gives it private weights, for the one method that trains them (full fine-tuning).
    """

    def __init__(self, backbone: Backbone, config: AdapterConfig, *, copy_weights: bool = False):
        super().__init__()
        self.config = config
        self.pooling = Pooling(backbone.pooling)
        shared = {} if copy_weights else frozen_tensors(backbone.model)
        self.encoder = inject_adapters(copy.deepcopy(backbone.model, shared), config)
        self.encoder.eval()  # dropout stays off: fine-tuning few examples must be repeatable
        for name, parameter in self.encoder.named_parameters():
            parameter.requires_grad_(parameter_group(name) != "theta")

    def train(self, mode: bool = True) -> AdaptedEncoder:
        return super().train(False)  # never enable the encoder's dropout

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> torch.Tensor:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**inputs).last_hidden_state  # (B, T, D)
        return pool(hidden, attention_mask, self.pooling)  # (B, D)

    def group(self, group: str) -> dict[str, torch.Tensor]:
        """The named parameters of one group: "omega", "phi" or "theta"."""
        return {n: p for n, p in self.named_parameters() if parameter_group(n) == group}
