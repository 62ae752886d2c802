import pytest
import torch
from conftest import TINY_CONFIGS, make_tiny_backbone

from engine.adapters import (
    AdaptedEncoder,
    AdaptedSite,
    AdapterConfig,
    inject_adapters,
    parameter_group,
    site_names,
)
from engine.backbone import encode_texts, pool


def frozen_and_adapted(backbone, texts):
    inputs = encode_texts(backbone, texts, max_length=32)
    with torch.no_grad():
        hidden = backbone.model(**inputs).last_hidden_state
        frozen = pool(hidden, inputs["attention_mask"], backbone.pooling)
        adapted = AdaptedEncoder(backbone, AdapterConfig())(**inputs)
    return frozen, adapted


def test_identity_at_init_reproduces_the_frozen_minilm_exactly(backbone):
    texts = ["A short one.", "A somewhat longer sentence about cooking pasta at home."]
    frozen, adapted = frozen_and_adapted(backbone, texts)
    assert torch.equal(frozen, adapted)


def test_nonzero_up_projection_changes_the_output(tiny_backbone):
    model = AdaptedEncoder(tiny_backbone, AdapterConfig())
    inputs = encode_texts(tiny_backbone, ["some text"], max_length=16)
    before = model(**inputs)
    with torch.no_grad():
        adapter = model.encoder.encoder.layer[0].output.dense.adapter
        adapter.up.weight.normal_(std=1.0)  # not constant: LayerNorm would remove a constant shift
    assert (before - model(**inputs)).abs().max() > 1e-5


@pytest.mark.parametrize("model_type", sorted(TINY_CONFIGS))
def test_site_table_covers_each_architecture(model_type):
    backbone = make_tiny_backbone(model_type)
    names = site_names(backbone.model)
    assert len(names) == 2 * 2  # two sites in each of two layers
    model = AdaptedEncoder(backbone, AdapterConfig(adapter_width=4, meta_width=3))
    sites = [m for m in model.modules() if isinstance(m, AdaptedSite)]
    assert len(sites) == 4
    assert all(
        s.adapter.down.out_features == 4 and s.meta_below.down.out_features == 3 for s in sites
    )
    inputs = encode_texts(backbone, ["hello there", "general kenobi"], max_length=16)
    with torch.no_grad():
        hidden = backbone.model(**inputs).last_hidden_state
        assert torch.equal(
            model(**inputs), pool(hidden, inputs["attention_mask"], backbone.pooling)
        )


def test_parameter_groups_split_theta_omega_phi(tiny_backbone):
    model = AdaptedEncoder(tiny_backbone, AdapterConfig(adapter_width=4, meta_width=3))
    omega, phi, theta = model.group("omega"), model.group("phi"), model.group("theta")
    per_site = lambda w: 32 * w + w + w * 32 + 32  # noqa: E731
    assert sum(p.numel() for p in phi.values()) == 4 * per_site(4)
    assert sum(p.numel() for p in omega.values()) == 4 * 2 * per_site(3)
    assert not any(p.requires_grad for p in theta.values())
    assert all(p.requires_grad for p in {**omega, **phi}.values())
    assert parameter_group("encoder.encoder.layer.0.output.dense.adapter.up.weight") == "phi"
    assert parameter_group("encoder.encoder.layer.0.output.dense.meta_above.up.weight") == "omega"
    assert parameter_group("encoder.encoder.layer.0.output.dense.base.weight") == "theta"


def test_modules_are_private_and_frozen_weights_shared(tiny_backbone):
    first, second = (AdaptedEncoder(tiny_backbone, AdapterConfig()) for _ in range(2))
    assert not any(isinstance(m, AdaptedSite) for m in tiny_backbone.model.modules())
    assert first.encoder is not tiny_backbone.model
    backbone_weights = {p.data_ptr() for p in tiny_backbone.model.parameters()}
    for model in (first, second):
        assert {p.data_ptr() for p in model.group("theta").values()} == backbone_weights
    assert not {p.data_ptr() for p in first.group("phi").values()} & {
        p.data_ptr() for p in second.group("phi").values()
    }
    private = AdaptedEncoder(tiny_backbone, AdapterConfig(), copy_weights=True)
    assert not {p.data_ptr() for p in private.group("theta").values()} & backbone_weights
    first.train()
    assert not first.training  # dropout never switches on


def test_unsupported_architecture_lists_the_supported(tiny_backbone):
    import copy

    model = copy.deepcopy(tiny_backbone.model)
    model.config.model_type = "gpt2"
    with pytest.raises(ValueError, match="supported: bert, distilbert"):
        inject_adapters(model, AdapterConfig())


def test_config_validation_names_the_parameter():
    with pytest.raises(ValueError, match="`adapter_width` must be a positive integer"):
        AdapterConfig(adapter_width=0)
    with pytest.raises(ValueError, match="`activation` must be one of"):
        AdapterConfig(activation="swish")
