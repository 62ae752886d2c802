"""What `fewshot info` (no file), `--version` and Help > About report, and the loud fallback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli import load_meta_option, main

SHIPPED = Path(__file__).resolve().parent.parent / "resources" / "meta" / "all-MiniLM-L6-v2"


@pytest.fixture
def loaded_backbone(backbone, monkeypatch):
    """`fewshot info` uses the session's backbone instead of loading its own (8 s)."""
    monkeypatch.setattr("engine.backbone.load_backbone", lambda *args, **kwargs: backbone)
    return backbone


def test_info_without_a_file_describes_the_installation(loaded_backbone, capsys):
    from engine.about import package_version

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    fingerprint = json.loads((SHIPPED / "config.json").read_text())["fingerprint"]
    assert f"Fewshot Studio      {package_version()}" in out
    assert "torch               2." in out and "onnxruntime" in out
    assert "Device              cpu" in out
    assert f"all-MiniLM-L6-v2 (fingerprint {loaded_backbone.fingerprint})" in out
    assert f"minilm-meta-adapters (trained, fingerprint {fingerprint})" in out
    assert f"Checkpoint files    {SHIPPED}" in out and "WARNING" not in out


def test_a_missing_shipped_checkpoint_is_said_loudly(
    loaded_backbone, monkeypatch, tmp_path, capsys
):
    monkeypatch.setattr("engine.locations.shipped_meta_root", lambda: tmp_path / "moved-away")
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "(UNTRAINED, fingerprint" in out
    assert "WARNING: The shipped meta-trained checkpoint for all-MiniLM-L6-v2 is missing" in out
    assert "Reinstall Fewshot Studio" in out
    load_meta_option(None, loaded_backbone)  # what train, bench and predict go through
    assert "fewshot: warning: The shipped meta-trained checkpoint" in capsys.readouterr().err


def test_a_damaged_shipped_checkpoint_names_what_is_wrong(backbone, monkeypatch, tmp_path):
    from engine.locations import active_meta_checkpoint

    damaged = tmp_path / "meta" / "all-MiniLM-L6-v2"
    damaged.mkdir(parents=True)
    (damaged / "config.json").write_text("{ not json")
    monkeypatch.setattr("engine.locations.shipped_meta_root", lambda: tmp_path / "meta")
    active = active_meta_checkpoint(backbone)
    assert not active.checkpoint.trained and active.folder is None
    assert f"Unreadable: {damaged}" in active.warning


def test_a_user_backbone_without_a_checkpoint_is_told_to_meta_train(tiny_backbone):
    from engine.locations import active_meta_checkpoint

    active = active_meta_checkpoint(tiny_backbone)
    assert "No meta-trained checkpoint was made for the backbone 'tiny-bert'" in active.warning
