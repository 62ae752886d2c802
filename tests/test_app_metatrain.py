"""The meta-training dialog runs `fewshot metatrain` in its own process and plots its progress."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QProcess
from test_app_support import answers, loaded_model, one_torch_thread, window  # noqa: F401 - fixtures used by name

from app.message_banner import MessageKind

TINY_RUN = (
    "--n-way 2 2 --k-shot 2 2 --query 2 --max-length 32 --inner-steps 1 --meta-batch 1 "
    "--first-order --threads 1 --validation-episodes 1"
)


@pytest.fixture
def task_folder(tmp_path):
    rows = [
        {"text": f"The {word} story number {i} about {label}", "label": label}
        for label, words in (
            ("sports", ["goal", "match", "team"]),
            ("food", ["soup", "bake", "salt"]),
            ("money", ["bank", "stock", "loan"]),
        )
        for i, word in enumerate(words * 2)
    ]
    folder = tmp_path / "tasks" / "tiny_topics"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder.parent


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    """The run writes its checkpoint here: other tests keep seeing no user checkpoint."""
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_a_tiny_run_shows_progress_and_its_checkpoint_appears_in_settings(
    window, qtbot, task_folder, own_data_dir
):
    from app.settings_dialog import SettingsDialog

    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.add_task_folder(task_folder)
    dialog.steps_spin.setValue(3)
    dialog.device_combo.setCurrentText("cpu")
    dialog.lambda_spin.setValue(1.0)
    dialog.name_edit.setText("tiny-test")
    dialog.extra_edit.setText(TINY_RUN)
    with qtbot.waitSignal(dialog.checkpoint_created, timeout=240_000) as created:
        dialog.start()
        assert dialog.is_running() and not dialog.start_button.isEnabled()
    folder = created.args[0]
    assert folder == str(own_data_dir / "meta" / "tiny-test")
    assert dialog.chart.points() == 3
    assert dialog.progress.value() == 3 and dialog.progress.maximum() == 3
    assert "Finished" in dialog.stats.text() and dialog.banner.kind is MessageKind.SUCCESS
    assert "can now be chosen in Settings" in window.banner.text()

    settings = SettingsDialog("auto", window.document.settings, window.host, window)
    folders = [settings.meta_combo.itemData(i) for i in range(settings.meta_combo.count())]
    assert folder in folders
    settings.meta_combo.setCurrentIndex(folders.index(folder))
    assert settings.project_settings().meta_checkpoint == folder


def test_engine_errors_are_shown_and_the_app_survives(window, qtbot, tmp_path, own_data_dir):
    (tmp_path / "no-tasks").mkdir()
    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.add_task_folder(tmp_path / "no-tasks")
    dialog.steps_spin.setValue(1)
    dialog.lambda_spin.setValue(1.0)
    dialog.extra_edit.setText(TINY_RUN)
    dialog.start()
    qtbot.waitUntil(lambda: not dialog.is_running(), timeout=120_000)
    qtbot.waitUntil(lambda: dialog.banner.kind is MessageKind.ERROR, timeout=5_000)
    assert "No task folders with train.jsonl" in dialog.banner.text()
    assert dialog.start_button.isEnabled() and window.isVisible()


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d, p: None, "Add at least one task folder"),
        (lambda d, p: d.add_task_folder(p / "missing"), "does not exist"),
        (lambda d, p: (d.add_task_folder(p), d.name_edit.setText("no spaces please")), "name of"),
        (lambda d, p: (d.add_task_folder(p), d.extra_edit.setText('"unclosed')), "cannot be read"),
    ],
)
def test_bad_settings_are_explained_before_starting(window, tmp_path, setup, message):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    setup(dialog, tmp_path)
    dialog.start()
    assert not dialog.is_running()
    assert dialog.banner.kind is MessageKind.ERROR and message in dialog.banner.text()


def test_progress_lines_are_parsed(window):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.chart.clear(10)
    dialog.handle_line(
        '{"event": "progress", "step": 4, "total": 10, "loss": 0.7, "accuracy": 0.6, '
        '"episodes_per_s": 0.5, "eta_s": 720}'
    )
    dialog.handle_line("not json: shown in the log")
    dialog.handle_line('{"event": "error", "message": "out of data"}')
    assert dialog.stats.text() == (
        "Step 4 of 10 · query loss 0.700 · query accuracy 60% · 0.50 episodes/s · about 12 min left"
    )
    assert dialog.chart.points() == 1 and "shown in the log" in dialog.log_view.toPlainText()
    failure = dialog._failure_message(1, QProcess.ExitStatus.NormalExit)
    assert failure == "Meta-training failed: out of data"
