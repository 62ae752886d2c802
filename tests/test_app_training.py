"""One-click Train: progress, the quality estimate, Try it, Cancel, and messages for bad data."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer
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
from engine.evaluation import QUICK_FOLDS


def test_train_reports_progress_estimates_quality_and_try_it_predicts(window, qtbot):
    window.document.load(topic_project(per_class=5), None)
    stages, ticks = [], []
    timer = QTimer(window)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(20)
    window.train_panel.train()
    # The engine runs in a worker thread: the GUI thread keeps ticking meanwhile.
    qtbot.waitUntil(lambda: " of " in window.train_panel.stage.text(), timeout=TRAINING_TIMEOUT_MS)
    stages.append(window.train_panel.stage.text())
    qtbot.waitUntil(lambda: window.document.quality is not None, timeout=TRAINING_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.train_panel.is_busy)
    timer.stop()
    assert ticks and len(ticks) > 5
    assert stages[0].startswith(("Fine-tuning: ", "Estimating quality"))
    classifier = window.host.classifier
    assert classifier is not None and classifier.labels == ["sports", "cooking", "finance"]
    assert window.document.classifier_file is not None and window.document.is_modified
    assert "Trained on 15 examples in 3 classes" in window.train_panel.status.text()
    report = window.document.quality
    assert report.folds == QUICK_FOLDS and report.examples == 15
    assert window.train_panel.quality.headline.text().startswith("Estimated accuracy:")
    assert window.train_panel.quality.table.rowCount() == 3
    assert window.train_panel.quality.table.columnCount() == 4  # 3 predicted classes + found

    window.try_panel.input.setPlainText("The goalkeeper saved a penalty in the cup final")
    qtbot.waitUntil(lambda: "%" in window.try_panel.prediction.text(), timeout=TRAINING_TIMEOUT_MS)
    assert window.try_panel.prediction.text().startswith("sports")
    probabilities = window.try_panel.probabilities()
    assert list(probabilities) == ["sports", "cooking", "finance"]
    assert max(probabilities, key=probabilities.get) == "sports"
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=0.01)
    window.try_panel.input.setPlainText("Whisk the cream with sugar and bake the tart")
    qtbot.waitUntil(
        lambda: window.try_panel.prediction.text().startswith("cooking"),
        timeout=TRAINING_TIMEOUT_MS,
    )


def test_too_few_examples_gives_a_plain_note(window, qtbot):
    window.document.load(topic_project(per_class=3), None)
    train_and_wait(qtbot, window)
    assert window.host.classifier is not None
    assert window.document.quality is None
    assert (
        "Too few examples for a quality estimate" in window.train_panel.quality.explanation.text()
    )


def test_enough_examples_say_how_long_training_ran_and_how_it_checked(window, qtbot):
    from conftest import opinion_examples

    from engine.project import Example, Project, ProjectSettings

    texts, labels = opinion_examples()
    examples = [Example(text, label) for text, label in zip(texts, labels)]
    project = Project(["good", "bad"], examples, ProjectSettings(max_length=16))
    window.document.load(project, None)
    train_and_wait(qtbot, window)
    training = window.host.classifier.training
    assert window.train_panel.status.text() == "Trained on 32 examples in 2 classes."
    details = window.train_panel.details.text()
    assert f"ran {training['steps']} steps, the number that did best" in details
    assert "on 8 examples set aside to check it" in details


def test_cancel_keeps_the_previous_classifier(window, qtbot):
    window.document.load(topic_project(per_class=2), None)
    train_and_wait(qtbot, window)
    previous, previous_file = window.host.classifier, window.document.classifier_file
    assert previous is not None
    # Many longer examples, so that training is still running when Cancel is pressed.
    from engine.project import Example

    texts = [
        f"{e.text}, as reported in story number {i} of the week"
        for i in range(8)
        for e in window.document.examples.examples()
    ]
    window.document.add_examples(
        [Example(t, "sports" if "striker" in t or "team" in t else "cooking") for t in texts],
        "More",
    )
    window.document.settings.max_length = 64
    window.train_panel.train()
    qtbot.waitUntil(lambda: " of " in window.train_panel.stage.text(), timeout=TRAINING_TIMEOUT_MS)
    pressed = time.perf_counter()
    window.menu_actions.cancel.trigger()
    qtbot.waitUntil(lambda: not window.train_panel.is_busy, timeout=10_000)
    stopped = time.perf_counter() - pressed
    assert window.banner.kind is MessageKind.INFO and "cancelled" in window.banner.text()
    assert "previous classifier is kept" in window.banner.text()
    assert window.host.classifier is previous
    assert window.document.classifier_file == previous_file
    assert stopped < 5.0, f"Cancel took {stopped:.1f} s"  # ~0.1-1 s; slack for a busy CI machine
    assert window.train_panel.train_button.isEnabled()


def test_training_says_how_long_it_will_take_from_its_first_step(window, qtbot):
    """Synthetic progress on a fake clock: the panel's words, not the engine's speed."""
    window.document.load(topic_project(per_class=2), None)
    train_and_wait(qtbot, window)  # a classifier to keep
    panel, now = window.train_panel, [0.0]
    panel.clock = lambda: now[0]
    panel._reset_time_left()  # as Train does when a run starts
    panel._set_training(True, "Training…")
    panel._progressed("Preparing the examples", 0, 0, {})
    assert panel.time_left.text() == ""
    now[0] = 60.0  # the first step took a minute; 19 to go
    panel._progressed("Fine-tuning", 1, 20, {"loss": 1.1})
    assert panel.time_left.text() == "about 19 minutes left"
    notice = "This training will take about 19 minutes. Cancel (Esc) stops it and keeps the "
    assert window.banner.kind is MessageKind.WARNING
    assert window.banner.text() == notice + "previous classifier."
    window.banner.clear()
    now[0] = 100.0  # 50 s a step so far: 18 to go
    panel._progressed("Fine-tuning", 2, 20, {"loss": 0.9})
    assert panel.time_left.text() == "about 15 minutes left"
    assert window.banner.text() == ""  # said once per run
    panel._set_training(False, "")
    assert panel.time_left.text() == ""

    panel._reset_time_left()  # a quick run: the time left shows, no banner
    panel._set_training(True, "Training…")
    now[0] += 2.0
    panel._progressed("Fine-tuning", 1, 10, {})
    assert panel.time_left.text() == "about 20 seconds left" and window.banner.text() == ""
    panel._set_training(False, "")


@pytest.mark.parametrize(
    "pasted, reason",
    [
        ("", "Add examples first: at least one for each of two classes."),
        (
            "a text\tonly\nanother text\tonly\n",
            "Add examples of a second class: only 'only' has examples.",
        ),
        (
            "goal\tsports\nrecipe\tcooking\nstocks\t3",
            "The class '3' has no examples, and its name does not say what it is: add an "
            "example, or rename or delete the class.",
        ),
    ],
)
def test_train_is_disabled_with_its_reason_not_a_failure(window, qtbot, pasted, reason):
    from engine.project import Project

    window.document.load(Project(), None)
    if pasted:
        window.importer.paste_text(pasted)
    if "\t3" in pasted:  # the class stays, its only example goes
        window.document.remove_rows([2])
    panel = window.train_panel
    assert not panel.train_button.isEnabled()
    assert panel.train_button.toolTip() == reason
    assert panel.stage.text() == reason and panel.stage.isVisibleTo(panel)
    window.menu_actions.train.trigger()  # the shortcut still answers, in words, not in red
    assert window.banner.kind is MessageKind.INFO
    assert window.banner.text() == f"Nothing to train yet. {reason}"
    assert not panel.is_busy and window.host.classifier is None


def test_classes_named_for_what_they_are_train_without_examples(window, qtbot):
    from engine.project import Project

    window.document.load(Project(["sports", "cooking", "finance"], []), None)
    panel = window.train_panel
    assert panel.train_button.isEnabled()
    train_and_wait(qtbot, window)
    assert window.host.classifier.labels == ["sports", "cooking", "finance"]
    expected = "Trained from the names of 3 classes alone (no examples yet)."
    assert expected in panel.status.text()
    assert "needs at least two classes with examples" in panel.quality.explanation.text()
    window.try_panel.input.setPlainText("The goalkeeper saved a penalty in the cup final")
    qtbot.waitUntil(lambda: "%" in window.try_panel.prediction.text(), timeout=TRAINING_TIMEOUT_MS)
    assert window.try_panel.prediction.text().startswith("sports")


def test_train_before_the_model_is_loaded_says_to_wait(window):
    window.host.model = None
    window.train_panel.train()
    assert "still loading" in window.banner.text()
    assert window.banner.kind is MessageKind.INFO


def test_opening_another_project_during_training_drops_the_result(window, qtbot):
    from engine.project import Project

    window.document.load(topic_project(per_class=5), None)
    window.train_panel.train()
    qtbot.waitUntil(lambda: " of " in window.train_panel.stage.text(), timeout=TRAINING_TIMEOUT_MS)
    window.document.load(Project(), None)  # as File > New does
    qtbot.waitUntil(lambda: not window.train_panel.is_busy, timeout=TRAINING_TIMEOUT_MS)
    assert window.host.classifier is None and window.document.classifier_file is None
    assert window.document.quality is None and not window.document.is_modified


def test_main_actions_have_shortcuts_tooltips_and_accessible_names(window):
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractItemView,
        QHeaderView,
        QLineEdit,
        QPlainTextEdit,
    )

    for action in (
        window.menu_actions.new,
        window.menu_actions.open,
        window.menu_actions.save,
        window.menu_actions.save_as,
        window.menu_actions.undo,
        window.menu_actions.redo,
        window.menu_actions.paste,
        window.menu_actions.import_,
        window.menu_actions.delete,
        window.menu_actions.train,
        window.menu_actions.cancel,
        window.menu_actions.try_it,
        window.menu_actions.save_classifier,
        window.menu_actions.export,
        window.menu_actions.batch,
        window.menu_actions.metatrain,
        window.menu_actions.settings,
        window.menu_actions.add_class,
    ):
        assert not action.shortcut().isEmpty(), action.text()
        assert action.toolTip(), action.text()
    assert window.menu_actions.train.shortcut().toString() == "Ctrl+Return"
    views = [v for v in window.findChildren(QAbstractItemView) if not isinstance(v, QHeaderView)]
    edits = window.findChildren(QPlainTextEdit) + window.findChildren(QLineEdit)
    buttons = window.findChildren(QAbstractButton)
    unnamed = [
        type(w).__name__
        for w in views + edits + buttons
        if w.isVisibleTo(window)
        and not (w.accessibleName() or (isinstance(w, QAbstractButton) and w.text()))
    ]
    assert not unnamed


def test_garbage_is_collected_in_the_gui_thread_only(window, qtbot):
    import gc
    import weakref

    from app.garbage import INTERVAL_MS

    class Node:
        pass

    assert not gc.isenabled()  # automatic collection could run in a worker thread
    first, second = Node(), Node()
    first.other, second.other = second, first  # a cycle only the collector frees
    alive = weakref.ref(first)
    del first, second
    # Enough new objects that the automatic collector would have run: the timer does instead.
    keep = [Node() for _ in range(gc.get_threshold()[0] + 1)]
    qtbot.waitUntil(lambda: alive() is None, timeout=4 * INTERVAL_MS)
    assert len(keep) > 1
