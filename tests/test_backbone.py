import pytest
import torch

from engine.backbone import (
    DEFAULT_BACKBONE,
    BackboneError,
    Pooling,
    encode_texts,
    load_backbone,
    pick_device,
    pool,
)


def test_embedded_default_loads_offline_frozen(backbone):
    assert backbone.name == DEFAULT_BACKBONE
    assert backbone.model_type == "bert" and backbone.hidden_size == 384
    assert backbone.pooling is Pooling.MEAN  # read from the sentence-transformers folder
    assert not any(p.requires_grad for p in backbone.model.parameters())
    assert not backbone.model.training


def test_fingerprint_is_stable_and_weight_sensitive(backbone, tiny_backbone):
    from engine.backbone import fingerprint_model

    assert fingerprint_model(backbone.model) == backbone.fingerprint
    assert tiny_backbone.fingerprint != backbone.fingerprint
    with torch.no_grad():
        tiny_backbone.model.embeddings.word_embeddings.weight[0, 0] += 1.0
        changed = fingerprint_model(tiny_backbone.model)
        tiny_backbone.model.embeddings.word_embeddings.weight[0, 0] -= 1.0
    assert changed != tiny_backbone.fingerprint


def test_local_folder_loads_like_the_default(tmp_path, tiny_backbone):
    tiny_backbone.model.save_pretrained(tmp_path)
    tiny_backbone.tokenizer.save_pretrained(tmp_path)
    loaded = load_backbone(str(tmp_path), device="cpu")
    assert loaded.fingerprint == tiny_backbone.fingerprint
    assert loaded.model_dir == tmp_path


def test_missing_and_unsupported_backbones_are_explained(tmp_path):
    with pytest.raises(BackboneError, match="holds no config.json"):
        load_backbone(str(tmp_path))
    with pytest.raises(BackboneError, match="Cannot find the backbone"):
        load_backbone("no-such-org/no-such-model-anywhere")
    (tmp_path / "config.json").write_text('{"model_type": "gpt2"}')
    with pytest.raises(BackboneError, match="supported architectures are"):
        load_backbone(str(tmp_path))


def test_device_choice():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in ("cuda", "mps", "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(BackboneError, match="no CUDA GPU"):
            pick_device("cuda")
    with pytest.raises(BackboneError, match="Unknown device"):
        pick_device("tpu")


def test_encode_pairs_and_truncation(backbone):
    single = encode_texts(backbone, ["short", "a much longer text " * 50], max_length=16)
    assert single["input_ids"].shape == (2, 16)
    pairs = encode_texts(backbone, [("a premise", "a hypothesis")], max_length=16)
    assert pairs["token_type_ids"].max() == 1  # the second segment is marked
    with pytest.raises(ValueError, match="mixes single texts and text pairs"):
        encode_texts(backbone, ["single", ("a", "b")], max_length=16)


def test_mean_pooling_ignores_padding_and_normalises():
    hidden = torch.tensor([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    pooled = pool(hidden, mask, Pooling.MEAN)
    assert torch.allclose(pooled, torch.tensor([[1.0, 0.0]]))
