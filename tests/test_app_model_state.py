"""One model state for every view: reopen, examples changed since, crash restore, the quality
stage after training, and a recovery copy that survives a kill."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from test_app_support import (  # noqa: F401 - fixtures used by name
    TRAINING_TIMEOUT_MS,
    answers,
    loaded_model,
    one_torch_thread,
    topic_project,
    train_and_wait,
    window,
)

from app.app_settings import autosave_path
from engine.project import Example


def wait_for_estimate(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.document.quality is not None, timeout=TRAINING_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.train_panel.is_estimating, timeout=TRAINING_TIMEOUT_MS)


def try_text(qtbot, window, text: str) -> str:
    window.try_panel.input.setPlainText(text)
    qtbot.waitUntil(lambda: "%" in window.try_panel.prediction.text(), timeout=30_000)
    return window.try_panel.prediction.text().split()[0]


@pytest.fixture
def estimated_window(window, qtbot):
    window.document.load(topic_project(per_class=4), None)
    train_and_wait(qtbot, window)
    wait_for_estimate(qtbot, window)
    return window


def test_reopening_a_saved_project_shows_the_trained_state(
    estimated_window, qtbot, tmp_path, answers
):
    window = estimated_window
    answers["save_path"] = tmp_path / "topics.fewshot.json"
    assert window.session.save()
    window.session.new_project()
    assert window.train_panel.status.text().startswith("Not trained yet")
    assert window.session.open_project(tmp_path / "topics.fewshot.json")
    panel = window.train_panel
    assert panel.status.text() == "Trained on 12 examples in 3 classes."
    assert panel.quality.headline.text().startswith("Estimated accuracy:")
    assert "before your latest changes" not in panel.quality.headline.text()
    qtbot.waitUntil(lambda: window.host.classifier is not None, timeout=30_000)
    assert try_text(qtbot, window, "The striker scored twice in the derby") == "sports"
    assert not window.try_panel.state_note.isVisibleTo(window.try_panel)
    assert window.menu_actions.export.isEnabled() and window.menu_actions.batch.isEnabled()


def test_a_new_class_after_training_marks_every_view_out_of_date(estimated_window, qtbot):
    window = estimated_window
    headline = window.train_panel.quality.headline.text()
    window.document.add_examples(
        [Example(f"Symptoms of flu number {i}", "health") for i in range(3)]
        + [Example("The league title race tightens", "sports")],
        "Import",
    )
    expected = (
        "Trained on 12 examples in 3 classes; 4 examples and 1 class added since - train again."
    )
    assert window.train_panel.status.text() == expected
    assert window.train_panel.quality.headline.text() == f"{headline} (before your latest changes)"
    note = window.try_panel.state_note
    assert note.isVisibleTo(window.try_panel)
    assert note.text() == f"{expected} It predicts only its classes: sports, cooking, finance."
    assert window.status_classifier.text() == "Classifier: out of date"
    assert window.status_classifier.toolTip() == expected
    window.document.undo_stack.undo()  # back to exactly what was trained: current again
    assert window.train_panel.status.text() == "Trained on 12 examples in 3 classes."
    assert not note.isVisibleTo(window.try_panel)
    assert window.status_classifier.text() == "Classifier: up to date"
    window.document.examples.setData(window.document.examples.index(0, 0), "Edited text")
    assert window.train_panel.status.text() == (
        "Trained on 12 examples in 3 classes; 1 example added, 1 example removed since "
        "- train again."
    )


def recovery_copy_has_quality() -> bool:
    path = autosave_path()
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("quality") is not None
    except (OSError, ValueError):  # not written yet, or caught mid-rename
        return False


def test_crash_restore_keeps_the_classifier_usable(estimated_window, qtbot, answers, loaded_model):
    from app.main_window import MainWindow

    window = estimated_window
    window.session.autosave()
    # An earlier copy (written before the estimate came) may be on disk or still being
    # written: wait for the one that carries the estimate.
    qtbot.waitUntil(recovery_copy_has_quality, timeout=10_000)
    answers["yes_no"] = True
    restored = MainWindow(window.settings)
    qtbot.addWidget(restored)
    restored.show()
    restored.start(model=loaded_model)
    assert restored.train_panel.status.text() == "Trained on 12 examples in 3 classes."
    assert restored.document.quality == window.document.quality
    qtbot.waitUntil(lambda: restored.host.classifier is not None, timeout=30_000)
    assert try_text(qtbot, restored, "Simmer the sauce and season it") == "cooking"
    restored._closing = True
    restored.close()


def test_the_classifier_is_ready_before_the_quality_stage_and_stopping_it_keeps_it(window, qtbot):
    window.document.load(topic_project(per_class=5), None)
    window.train_panel.train()
    panel = window.train_panel
    qtbot.waitUntil(lambda: panel.is_estimating and not panel.is_busy, timeout=TRAINING_TIMEOUT_MS)
    assert window.host.classifier is not None and window.document.quality is None
    assert panel.train_button.isEnabled() and panel.stop_estimate_button.isVisibleTo(panel)
    assert panel.status.text() == "Trained on 15 examples in 3 classes."
    qtbot.waitUntil(lambda: "fold" in panel.estimate_stage.text(), timeout=TRAINING_TIMEOUT_MS)
    assert try_text(qtbot, window, "Whisk the eggs into the flour") == "cooking"
    classifier = window.host.classifier
    panel.stop_estimate_button.click()
    qtbot.waitUntil(lambda: not panel.is_estimating, timeout=30_000)
    assert window.host.classifier is classifier and window.document.quality is None
    assert panel.quality.explanation.text() == (
        "Quality estimate stopped; the classifier is trained and ready."
    )
    assert panel.estimate_button.isVisibleTo(panel)
    panel.estimate_button.click()  # on request, the same stage again, to its end
    wait_for_estimate(qtbot, window)
    assert window.document.quality.examples == 15


def test_a_project_from_before_training_records_says_so(window, estimated_window):
    window.document.trained_on = None  # as read from a project saved by an older version
    window.document.classifier_changed.emit()
    assert window.train_panel.status.text().startswith("Trained, but this project does not")


RECOVERY_SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    application = QApplication([])
    from app.app_settings import AppSettings
    from app.main_window import MainWindow

    settings = AppSettings(sys.argv[1])
    settings.mark_first_run_done()
    window = MainWindow(settings)
    window.show()
    window.start()

    def edit():
        if window.document.settings is None:  # the engine is still being imported
            QTimer.singleShot(100, edit)
            return
        window.importer.paste_text("typed just before the kill\\tdraft")
        print("EDITED", flush=True)

    QTimer.singleShot(100, edit)
    application.exec()
    """
)


@pytest.mark.slow
def test_an_edit_survives_a_kill_three_seconds_later(tmp_path, qtbot, answers, loaded_model):
    from app.app_settings import AppSettings
    from app.main_window import MainWindow

    data_dir = tmp_path / "data"
    script = tmp_path / "edit_then_wait.py"
    script.write_text(RECOVERY_SCRIPT)
    environment = {
        **os.environ,
        "FEWSHOT_DATA_DIR": str(data_dir),
        "QT_QPA_PLATFORM": "offscreen",
        "HF_HUB_OFFLINE": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "settings.ini")],
        stdout=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout.readline().strip() == "EDITED"
        time.sleep(3.0)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    recovery = data_dir / "autosave.fewshot.json"
    assert recovery.is_file() and "typed just before the kill" in recovery.read_text("utf-8")

    previous = os.environ["FEWSHOT_DATA_DIR"]
    os.environ["FEWSHOT_DATA_DIR"] = str(data_dir)
    try:
        answers["yes_no"] = True
        restored = MainWindow(AppSettings(tmp_path / "settings.ini"))
        qtbot.addWidget(restored)
        restored.start(model=loaded_model)
        assert ("typed just before the kill", "draft") in [
            (e.text, e.label) for e in restored.document.examples.examples()
        ]
        restored._closing = True
        restored.close()
    finally:
        os.environ["FEWSHOT_DATA_DIR"] = previous


def test_a_banner_does_not_move_the_table_and_tab_reaches_train_and_try_it(window, qtbot):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QApplication

    window.document.load(topic_project(per_class=2), None)
    view = window.examples_panel.view
    before = view.mapTo(window, QPoint(0, 0))
    window.banner.show_error("A long message\nover two lines")
    assert window.banner.isVisible() and view.mapTo(window, QPoint(0, 0)) == before
    window.banner.clear()

    view.setFocus()
    qtbot.waitUntil(view.hasFocus)
    reached = []
    for _ in range(30):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        reached.append(QApplication.focusWidget())
    assert window.train_panel.train_button in reached
    assert window.try_panel.input in reached


def test_class_hints_wrap_instead_of_being_cut(window, qtbot):
    from PySide6.QtWidgets import QStyleOptionViewItem

    window.document.load(topic_project(per_class=0), None)
    view = window.classes_panel.view
    window.splitter.setSizes([150, 740, 390])  # a narrow class panel
    qtbot.wait(50)
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.widget = view
    index = window.document.classes.index(0)
    narrow = view.itemDelegate().sizeHint(option, index).height()
    window.splitter.setSizes([400, 490, 390])
    qtbot.wait(50)
    wide = view.itemDelegate().sizeHint(option, index).height()
    assert narrow > wide  # the hint took more lines where it had less room
    assert index.data().endswith("add 8 examples for a good start")
