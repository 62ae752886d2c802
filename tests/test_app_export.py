"""The ONNX export dialog in words a user reads: why the folder is big, where it goes by
default, and what happens when no file manager opens it."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

from test_app_support import (  # noqa: F401 - fixtures used by name
    TRAINING_TIMEOUT_MS,
    answers,
    loaded_model,
    one_torch_thread,
    topic_project,
    train_and_wait,
    window,
)

from app.message_banner import MessageKind


def test_export_explains_its_size_defaults_beside_the_classifier_and_reports_open_failures(
    window, qtbot, tmp_path, monkeypatch
):
    from PySide6.QtGui import QDesktopServices

    window.document.load(topic_project(per_class=3), None)
    train_and_wait(qtbot, window)
    saved = window.save_classifier(tmp_path / "shared" / "topics.safetensors")
    assert saved is not None
    window.show_export()
    dialog = window.export_dialog
    intro = " ".join(label.text() for label in dialog.findChildren(type(dialog.state)))
    assert "whole language model, about 90 MB" in intro and "classifier file is enough" in intro
    assert "smaller to ship" not in intro
    assert "Trained on 9 examples in 3 classes." in dialog.state.text()
    assert dialog.folder_edit.text() == str(tmp_path / "shared" / "topics-onnx")
    assert not dialog.open_button.isEnabled()

    dialog.export()
    qtbot.waitUntil(
        lambda: dialog.report is not None or dialog.banner.kind is MessageKind.ERROR,
        timeout=TRAINING_TIMEOUT_MS,
    )
    summary = dialog.summary.text()
    assert "the language model and your classifier" in summary
    assert "Checked: it gives the same predictions as the classifier in the app." in summary
    assert "difference" not in summary and "e-0" not in summary
    assert "probability difference" in dialog.summary.toolTip()

    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: False)
    dialog.open_button.click()
    assert dialog.banner.kind is MessageKind.ERROR
    assert "Could not open a file manager" in dialog.banner.text()
    assert str(tmp_path / "shared" / "topics-onnx") in dialog.banner.text()
