import json

import pytest
import torch
from safetensors.torch import save_file

from engine.classifier import Classifier
from engine.formats import (
    FormatError,
    initial_meta_checkpoint,
    load_meta_checkpoint,
    read_classifier_file,
    save_meta_checkpoint,
)


@pytest.fixture
def saved(fitted_classifier, tmp_path):
    return fitted_classifier.save(tmp_path / "topics.safetensors")


def test_meta_checkpoint_round_trip(tiny_backbone, tmp_path):
    checkpoint = initial_meta_checkpoint(tiny_backbone, steps=3)
    folder = save_meta_checkpoint(checkpoint, tmp_path / "meta")
    loaded = load_meta_checkpoint(folder, backbone=tiny_backbone)
    assert loaded.fingerprint == checkpoint.fingerprint
    assert loaded.steps == 3 and loaded.config == checkpoint.config and not loaded.trained
    config = json.loads((folder / "config.json").read_text())
    assert config["fingerprint"] == checkpoint.fingerprint
    assert config["backbone_fingerprint"] == tiny_backbone.fingerprint


def test_meta_checkpoint_for_another_backbone_is_refused(tiny_backbone, backbone, tmp_path):
    folder = save_meta_checkpoint(initial_meta_checkpoint(tiny_backbone), tmp_path / "meta")
    with pytest.raises(FormatError, match="was trained for backbone 'tiny-bert'"):
        load_meta_checkpoint(folder, backbone=backbone)


def test_meta_checkpoint_missing_files(tmp_path):
    with pytest.raises(FormatError, match="needs both meta.safetensors and config.json"):
        load_meta_checkpoint(tmp_path)


def test_classifier_file_records_what_it_was_trained_against(saved, fitted_classifier, backbone):
    content = read_classifier_file(saved)
    assert content.labels == fitted_classifier.labels
    assert content.backbone_fingerprint == backbone.fingerprint
    assert content.meta_fingerprint == fitted_classifier.meta.fingerprint
    assert content.pooling == "mean" and content.max_length == 64
    assert content.training["steps"] == fitted_classifier.meta.steps


def test_classifier_from_another_backbone_is_refused(saved, tiny_backbone):
    with pytest.raises(FormatError, match="was trained on backbone 'all-MiniLM-L6-v2'"):
        Classifier.load(saved, backbone=tiny_backbone, meta=initial_meta_checkpoint(tiny_backbone))


def test_classifier_with_another_meta_checkpoint_is_refused(saved, backbone):
    other = initial_meta_checkpoint(backbone, seed=123)
    with pytest.raises(FormatError, match="was trained with meta-adapter checkpoint"):
        Classifier.load(saved, backbone=backbone, meta=other)


def test_truncated_file_is_reported_as_corrupt(saved, tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    with pytest.raises(FormatError, match="corrupt or truncated"):
        read_classifier_file(broken)


def test_other_safetensors_and_newer_versions_are_refused(saved, tmp_path):
    plain = tmp_path / "weights.safetensors"
    save_file({"w": torch.zeros(2)}, plain)
    with pytest.raises(FormatError, match="not a Fewshot Studio classifier"):
        read_classifier_file(plain)
    from safetensors import safe_open

    with safe_open(saved, framework="pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    description = json.loads(metadata["fewshot_classifier"])
    description["format_version"] = 99
    newer = tmp_path / "newer.safetensors"
    save_file(tensors, newer, metadata={"fewshot_classifier": json.dumps(description)})
    with pytest.raises(FormatError, match="newer than this program's"):
        read_classifier_file(newer)


def test_missing_file(tmp_path):
    with pytest.raises(FormatError, match="No classifier file"):
        read_classifier_file(tmp_path / "absent.safetensors")


def test_saving_is_atomic_and_leaves_no_temp_files(fitted_classifier, tmp_path):
    target = tmp_path / "c.safetensors"
    target.write_bytes(b"previous content")
    fitted_classifier.save(target)
    assert read_classifier_file(target).labels == fitted_classifier.labels
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]


def file_parts(path):
    from safetensors import safe_open

    with safe_open(path, framework="pt") as handle:
        description = json.loads(handle.metadata()["fewshot_classifier"])
        return description, {k: handle.get_tensor(k) for k in handle.keys()}


def rewrite(tensors, description, path):
    save_file(tensors, path, metadata={"fewshot_classifier": json.dumps(description)})
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("labels"), r"the field `labels` is missing \(expected a list of at least"),
        (
            lambda d: d.update(max_length="128"),
            r"the field `max_length` is '128'; expected a whole",
        ),
        (lambda d: d.pop("training"), r"the field `training` is missing"),
        (lambda d: d.update(max_length=3), r"the field `max_length` is 3; expected"),
        (lambda d: d.update(labels=["a", "a", "b"]), r"`labels` is \['a', 'a', 'b'\]"),
        (lambda d: d.update(pooling="max"), r"`pooling` is 'max'; expected \"mean\" or \"cls\""),
        (lambda d: d.update(meta_trained="yes"), r"`meta_trained` is 'yes'; expected true"),
        (lambda d: d.update(colour="blue"), r"unknown field\(s\) \['colour'\]"),
    ],
)
def test_every_metadata_field_is_checked(saved, tmp_path, change, message):
    description, tensors = file_parts(saved)
    change(description)
    with pytest.raises(FormatError, match=message):
        read_classifier_file(rewrite(tensors, description, tmp_path / "changed.safetensors"))


def test_tensors_must_fit_the_labels(saved, tmp_path):
    description, tensors = file_parts(saved)
    tensors["head.bias"] = torch.zeros(7)
    with pytest.raises(FormatError, match="the head's bias does not fit its labels"):
        read_classifier_file(rewrite(tensors, description, tmp_path / "bias.safetensors"))
    description, tensors = file_parts(saved)
    tensors = {n: t.double() for n, t in tensors.items()}
    with pytest.raises(FormatError, match="are not float32"):
        read_classifier_file(rewrite(tensors, description, tmp_path / "double.safetensors"))


def test_a_meta_config_with_a_wrong_field_names_it(tiny_backbone, tmp_path):
    folder = save_meta_checkpoint(initial_meta_checkpoint(tiny_backbone), tmp_path / "meta")
    config = json.loads((folder / "config.json").read_text())
    config["steps"] = "five"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(FormatError, match=r"config.json`: the field `steps` is 'five'"):
        load_meta_checkpoint(folder)
