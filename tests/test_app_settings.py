"""Settings: devices that exist, backbone and checkpoint choices, and the status bar."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

from test_app_metatrain import make_stopped_run, task_folder  # noqa: F401 - a fixture
from test_app_support import (  # noqa: F401 - fixtures used by name
    answers,
    loaded_model,
    one_torch_thread,
    window,
)

from app.message_banner import MessageKind


def test_status_bar_names_device_backbone_and_checkpoint(window, loaded_model):
    assert window.status_device.text() == "Device: cpu"
    assert window.status_backbone.text() == "Backbone: all-MiniLM-L6-v2"
    assert window.status_meta.text().startswith(f"Meta-adapters: {loaded_model.meta.name}")


def test_only_existing_devices_are_offered(window):
    from engine.backbone import available_devices

    window.show_settings()
    dialog = window.settings_dialog
    offered = [dialog.device_combo.itemData(i) for i in range(dialog.device_combo.count())]
    assert offered == available_devices() and offered[0] == "auto" and offered[-1] == "cpu"
    dialog.reject()


def test_a_folder_that_is_no_model_is_refused(window, tmp_path):
    window.show_settings()
    dialog = window.settings_dialog
    dialog.folder_radio.setChecked(True)
    dialog.folder_edit.setText(str(tmp_path))
    dialog.accept()
    assert dialog.isVisible() and dialog.banner.kind is MessageKind.ERROR
    assert "is not a model folder" in dialog.banner.text()
    dialog.reject()


def test_choosing_a_checkpoint_reloads_the_model_and_is_saved_with_the_project(window, qtbot):
    from engine.locations import meta_checkpoint_dirs

    shipped = [str(folder) for folder in meta_checkpoint_dirs()]
    window.show_settings()
    dialog = window.settings_dialog
    folders = [dialog.meta_combo.itemData(i) for i in range(dialog.meta_combo.count())]
    assert folders == [None, *shipped]  # "Automatic" first
    dialog.length_spin.setValue(48)
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    if shipped:
        dialog.meta_combo.setCurrentIndex(1)
    with qtbot.waitSignal(window.host.model_ready, timeout=120_000):
        dialog.accept()
    assert window.settings.device == "cpu"
    assert window.document.settings.max_length == 48 and window.document.is_modified
    assert window.document.settings.meta_checkpoint == (shipped[0] if shipped else None)
    assert window.status_device.text() == "Device: cpu"
    assert window.host.model.meta.name in window.status_meta.text()


def test_an_unfinished_checkpoint_is_marked_with_how_to_resume_it(
    window, loaded_model, task_folder, tmp_path, monkeypatch
):
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "data" / "meta" / "half-done"
    make_stopped_run(loaded_model.backbone, task_folder, folder, "fewshot metatrain --steps 4")
    window.show_settings()
    dialog = window.settings_dialog
    titles = [dialog.meta_combo.itemText(i) for i in range(dialog.meta_combo.count())]
    index = dialog.meta_combo.findData(str(folder))
    assert titles[index].startswith("half-done (stopped at step 2 of 4; resume)")
    assert not any("stopped" in title for title in titles[:index] + titles[index + 1 :])
    dialog.meta_combo.setCurrentIndex(index)
    assert "stopped at step 2 of 4: resume it in Tools > Meta-train" in dialog.meta_detail.text()
    dialog.reject()
