"""The meta-training dialog runs `fewshot metatrain` in its own process and plots its progress."""

# ruff: noqa: F811 - pytest fixtures imported from test_app_support shadow their names

from __future__ import annotations

import json
import shlex

import pytest
from PySide6.QtCharts import QValueAxis
from PySide6.QtCore import QProcess, Qt
from test_app_support import answers, loaded_model, one_torch_thread, window  # noqa: F401 - fixtures used by name

from app.app_settings import AppSettings, MetaTrainChoices
from app.message_banner import MessageKind
from app.metatrain_chart import step_tick_interval
from app.metatrain_dialog import MetaTrainDialog

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
def text_folder(tmp_path):
    """Unlabelled text whose six topic words occur often enough to be indexed and clustered."""
    words = ["river", "castle", "garden", "engine", "violin", "harbour"]
    folder = tmp_path / "text"
    folder.mkdir()
    (folder / "a.txt").write_text(
        "\n".join(f"Line {i}: we talked about the {words[i % 6]} for a while." for i in range(300))
    )
    return folder


@pytest.fixture
def own_data_dir(tmp_path, monkeypatch):
    """The run writes its checkpoint here: other tests keep seeing no user checkpoint."""
    monkeypatch.setenv("FEWSHOT_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def test_a_tiny_run_shows_progress_and_its_checkpoint_appears_in_settings(
    window, qtbot, task_folder, text_folder, own_data_dir
):
    from app.settings_dialog import SettingsDialog

    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.add_task_folder(task_folder)
    dialog.unlabeled_edit.setText(str(text_folder))
    dialog.steps_spin.setValue(3)
    dialog.device_combo.setCurrentText("cpu")
    dialog.lambda_spin.setValue(1.0)
    dialog.name_edit.setText("tiny-test")
    dialog.extra_edit.setText(TINY_RUN + " --clusters 3")
    with qtbot.waitSignal(dialog.checkpoint_created, timeout=240_000) as created:
        dialog.start()
        assert dialog.is_running() and not dialog.start_button.isEnabled()
    folder = created.args[0]
    assert folder == str(own_data_dir / "meta" / "tiny-test")
    assert dialog.chart.points() == 3
    assert dialog.progress.value() == 3 and dialog.progress.maximum() == 3
    assert "Finished" in dialog.stats.text() and dialog.banner.kind is MessageKind.SUCCESS
    assert "can now be chosen in Settings" in window.banner.text()
    log = dialog.log_view.toPlainText()
    for stage in ("Loading task folders", "Reading unlabeled text", "Clustering words"):
        assert f"{stage}…" in log  # the minutes before the first step are accounted for

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


def test_preparation_stages_are_shown_with_their_counts(window):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.handle_line('{"event": "stage", "stage": "Loading the backbone", "done": 0, "total": 0}')
    assert dialog.stats.text() == "Loading the backbone…" and dialog.progress.maximum() == 0
    dialog.handle_line(
        '{"event": "stage", "stage": "Reading unlabeled text", "done": 3, "total": 8}'
    )
    assert dialog.stats.text() == "Reading unlabeled text: 3 of 8 files"
    assert (dialog.progress.value(), dialog.progress.maximum()) == (3, 8)
    dialog.handle_line('{"event": "stage", "stage": "Clustering words", "done": 4, "total": 30}')
    assert dialog.stats.text() == "Clustering words: 4 of 30 iterations"
    assert dialog.log_view.toPlainText().splitlines() == [
        "Loading the backbone…",
        "Reading unlabeled text…",
        "Clustering words…",
    ]


def test_the_fields_are_remembered_across_openings_and_restarts(window, tmp_path):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    chosen = MetaTrainChoices(
        tasks=[str(tmp_path / "my tasks"), str(tmp_path / "more")],
        unlabeled=str(tmp_path / "text"),
        steps=42,
        device="cpu",
        lam=0.3,
        name="support-tickets",
        extra="--first-order --meta-batch 2",
    )
    dialog.restore_choices(chosen)  # as if typed: every field's change is remembered
    dialog.hide()
    window.settings.sync()
    after_restart = MetaTrainDialog(AppSettings(window.settings.path))
    assert after_restart.choices() == chosen
    dialog.tasks_list.takeItem(1)  # one folder: an ini file reads a one-item list back as text
    window.settings.sync()
    assert MetaTrainDialog(AppSettings(window.settings.path)).task_folders() == chosen.tasks[:1]


def test_an_error_clears_once_its_cause_is_fixed(window, tmp_path):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.start()
    assert "Add at least one task folder" in dialog.banner.text()
    dialog.add_task_folder(tmp_path / "missing")
    assert "does not exist" in dialog.banner.text()  # the next mistake, at once
    dialog.tasks_list.clear()
    dialog.add_task_folder(tmp_path)
    assert dialog.banner.kind is None and dialog.banner.text() == ""
    dialog.name_edit.setText("no spaces please")
    assert dialog.banner.kind is None  # no error before the user asks to start
    dialog.start()
    dialog.name_edit.setText("no-spaces")
    assert dialog.banner.kind is None and not dialog.is_running()


def test_the_chart_labels_whole_steps_and_round_percentages(window):
    window.show_metatrain()
    chart = window.metatrain_dialog.chart
    chart.clear(3)
    chart.add_point(1, 0.7, 0.6, 3)
    steps, accuracy = chart.steps_axis, chart.accuracy_axis
    assert steps.tickType() is QValueAxis.TickType.TicksDynamic and steps.tickAnchor() == 0
    assert (steps.min(), steps.max(), steps.tickInterval()) == (0, 3, 1)
    assert (accuracy.min(), accuracy.max(), accuracy.tickCount()) == (0, 100, 6)
    assert chart.accuracy.at(0).y() == pytest.approx(60)
    assert [step_tick_interval(n) for n in (1, 10, 25, 500, 1000, 3000)] == [1, 1, 5, 50, 100, 500]


def make_stopped_run(backbone, task_folder, folder, command: str) -> None:
    """A real run of 4 steps stopped after step 2, recorded as started by `command`."""
    from engine.adapters import AdapterConfig
    from engine.finetune import Order
    from engine.metatrain import MetaTrainConfig, metatrain
    from engine.progress import Cancelled
    from engine.tasks import EpisodeShape, SupervisedSampler, find_task_folders, read_task_folder

    shape = EpisodeShape(n_way=(2, 2), k_shot=(2, 2), query=1)
    config = MetaTrainConfig(
        outer_steps=4,
        meta_batch=1,
        inner_steps=1,
        order=Order.FIRST,
        lam=1.0,
        shape=shape,
        max_length=16,
        checkpoint_every=2,
        adapter=AdapterConfig(adapter_width=4, meta_width=3),
    )
    sampler = SupervisedSampler(
        [read_task_folder(f) for f in find_task_folders([task_folder])], shape
    )
    checks = iter(range(10))
    with pytest.raises(Cancelled):
        metatrain(
            backbone,
            sampler,
            config,
            folder,
            name=folder.name,
            description={"command": command},
            should_stop=lambda: next(checks) == 3,
        )


def test_a_stopped_run_can_be_resumed_with_its_own_settings(
    window, loaded_model, task_folder, own_data_dir
):
    window.show_metatrain()
    dialog = window.metatrain_dialog
    dialog.add_task_folder(task_folder)
    dialog.steps_spin.setValue(4)
    dialog.device_combo.setCurrentText("cpu")
    dialog.lambda_spin.setValue(1.0)
    dialog.name_edit.setText("stopped-run")
    dialog.extra_edit.setText(TINY_RUN + " --restart")
    started = dialog.arguments()
    folder = own_data_dir / "meta" / "stopped-run"
    make_stopped_run(loaded_model.backbone, task_folder, folder, shlex.join(["fewshot", *started]))

    dialog.restore_choices(MetaTrainChoices())  # the user has typed something else since
    dialog.refresh_stopped_runs()
    assert dialog.resume_combo.isVisibleTo(dialog)
    assert dialog.resume_combo.itemText(1) == "stopped-run: stopped at step 2 of 4"
    dialog.resume_combo.activated.emit(1)
    resumed = dialog.arguments()
    assert resumed == [a for a in started if a != "--restart"]  # --restart would discard it
    assert dialog.stats.text() == "Start continues 'stopped-run' from step 2 of 4."


def test_a_damaged_run_is_listed_as_such_not_a_crash(window, own_data_dir):
    folder = own_data_dir / "meta" / "broken"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"name": "broken", "training": {}}))
    (folder / "trainer_state.json").write_text("[]")  # once an AttributeError in the listing
    window.show_metatrain()
    combo = window.metatrain_dialog.resume_combo
    assert combo.itemText(1) == "broken: damaged, cannot be resumed"
    assert not combo.model().item(1).isEnabled()
    assert "expected a JSON object of fields" in combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    window.metatrain_dialog.reject()
    window.show_settings()
    settings = window.settings_dialog  # the checkpoint itself is still offered
    assert settings.meta_combo.findData(str(folder)) > 0
    settings.reject()
