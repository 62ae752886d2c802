"""Meta-train a checkpoint from the user's task folders, in a separate process (QProcess).

A separate process rather than a thread: meta-training runs for hours and uses all cores
and much memory; if it crashes or is killed, the app (and the user's unsaved examples) stay.
The process is `python -m engine.cli metatrain ... --json-progress`, whose stdout carries
one JSON object per line: progress events, then "done" or "error".
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QProcessEnvironment, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app import prompts
from app.app_settings import AppSettings, MetaTrainChoices
from app.message_banner import MessageBanner, MessageKind
from app.metatrain_chart import MetaTrainChart
from engine.tasks import (
    CLUSTERING_WORDS,
    EMBEDDING_WORDS,
    INDEXING_WORDS,
    LOADING_TASKS,
    READING_TEXT,
)

log = logging.getLogger(__name__)
STOP_GRACE_MS = 3000  # after terminate(): time to exit cleanly before kill()
MAX_LOG_LINES = 400
NAME_PATTERN = re.compile(r"^[\w.-]+$")
STAGE_UNITS = {  # what `done` and `total` count in the engine's stages before the first step
    LOADING_TASKS: "folders",
    READING_TEXT: "files",
    INDEXING_WORDS: "sentences",
    EMBEDDING_WORDS: "words",
    CLUSTERING_WORDS: "iterations",
}
# Options the dialog's fields stand for: a resumed run takes them from the fields, not from
# the old command. --restart would discard the run being resumed; --out is set again.
FIELD_OPTIONS = frozenset(
    {"--tasks", "--unlabeled", "--steps", "--device", "--lambda", "--name", "--out"}
    | {"--json-progress", "--restart"}
)


def engine_command(arguments: list[str]) -> tuple[str, list[str]]:
    """Program and arguments for `fewshot ...`: Python, or a frozen bundle's own executable."""
    if getattr(sys, "frozen", False):
        return sys.executable, ["--engine-cli", *arguments]
    return sys.executable, ["-m", "engine.cli", *arguments]


def stage_text(stage: str, done: int, total: int) -> str:
    """ "Reading unlabeled text: 3 of 8 files"; just the stage when its length is unknown."""
    if total <= 0:
        return f"{stage}…"
    return f"{stage}: {done:,} of {total:,} {STAGE_UNITS.get(stage, '')}".rstrip()


def split_command(command: str) -> tuple[dict[str, list[str]], list[str]]:
    """A recorded `fewshot metatrain ...` command as the FIELD_OPTIONS with their values, and
    the other arguments in order (the "More options" of the run)."""
    fields: dict[str, list[str]] = {}
    rest: list[str] = []
    current = None
    for token in shlex.split(command)[2:]:  # after "fewshot metatrain"
        if token.startswith("--"):
            current = token if token in FIELD_OPTIONS else None
            if current is not None:
                fields[current] = []
                continue
        if current is None:
            rest.append(token)
        else:
            fields[current].append(token)
    return fields, rest


def format_duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


class MetaTrainDialog(QDialog):
    checkpoint_created = Signal(str)  # the checkpoint folder

    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        from engine.backbone import available_devices

        super().__init__(parent)
        self._settings = settings
        self.process: QProcess | None = None
        self.checkpoint: str | None = None
        self._stdout_buffer = b""
        self._error_message: str | None = None
        self._stopping = False
        self._input_error = False  # the banner shows a mistake in the fields: re-checked on edits
        self._stage: str | None = None
        self.setWindowTitle("Meta-train a checkpoint")
        self.setAccessibleName("Meta-training")
        self.resize(820, 720)
        self.banner = MessageBanner()
        intro = QLabel(
            "Meta-training teaches the meta-adapters how to learn from few examples, using many "
            "labelled tasks (and unlabelled text). It takes hours on a CPU and runs as a separate "
            "program, so you can keep working. The result appears in Settings."
        )
        intro.setWordWrap(True)

        self.resume_combo = QComboBox()
        self.resume_combo.setAccessibleName("Resume a stopped run")
        self.resume_combo.setToolTip(
            "A run stopped before its last step continues where it stopped, with its own settings"
        )
        self.resume_combo.activated.connect(self._resume_chosen)

        self.tasks_list = QListWidget()
        self.tasks_list.setAccessibleName("Task folders")
        self.tasks_list.setToolTip(
            'A task folder holds train.jsonl ({"text", "label"} lines, optional validation.jsonl). '
            "Add task folders one by one, or the folder that holds them: both work."
        )
        self.tasks_list.setMaximumHeight(110)
        tasks_hint = QLabel(
            "Add each task folder (it holds train.jsonl), or one parent folder of task folders: "
            "both work."
        )
        tasks_hint.setObjectName("panelSummary")
        tasks_hint.setWordWrap(True)
        add_tasks = QPushButton("Add folder…")
        add_tasks.setAccessibleName("Add a task folder")
        add_tasks.clicked.connect(self._add_task_folder)
        remove_tasks = QPushButton("Remove")
        remove_tasks.setAccessibleName("Remove the selected task folder")
        remove_tasks.clicked.connect(self._remove_task_folder)
        task_buttons = QVBoxLayout()
        task_buttons.addWidget(add_tasks)
        task_buttons.addWidget(remove_tasks)
        task_buttons.addStretch(1)
        tasks_row = QHBoxLayout()
        tasks_row.addWidget(self.tasks_list, 1)
        tasks_row.addLayout(task_buttons)
        tasks_box = QVBoxLayout()
        tasks_box.addLayout(tasks_row)
        tasks_box.addWidget(tasks_hint)

        self.unlabeled_edit = QLineEdit()
        self.unlabeled_edit.setAccessibleName("Unlabelled text folder")
        self.unlabeled_edit.setPlaceholderText(
            "Optional: a folder of .txt files, one sentence per line"
        )
        browse_unlabeled = QPushButton("Browse…")
        browse_unlabeled.clicked.connect(self._browse_unlabeled)
        unlabeled_row = QHBoxLayout()
        unlabeled_row.addWidget(self.unlabeled_edit, 1)
        unlabeled_row.addWidget(browse_unlabeled)

        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 1_000_000)
        self.steps_spin.setAccessibleName("Steps")
        self.steps_spin.setToolTip("Outer steps; each trains on a small batch of episodes")
        self.device_combo = QComboBox()
        self.device_combo.addItems(available_devices())
        self.device_combo.setAccessibleName("Device")
        self.lambda_spin = QDoubleSpinBox()
        self.lambda_spin.setRange(0.0, 1.0)
        self.lambda_spin.setSingleStep(0.1)
        self.lambda_spin.setAccessibleName("Lambda")
        self.lambda_spin.setToolTip(
            "Share of labelled tasks; the rest are made from unlabelled text (SMLMT)"
        )
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Checkpoint name")
        self.extra_edit = QLineEdit()
        self.extra_edit.setAccessibleName("More options")
        self.extra_edit.setPlaceholderText(
            "Optional engine options, e.g. --first-order --meta-batch 2"
        )
        self.form = QFormLayout()
        self.form.addRow("Resume:", self.resume_combo)
        self.form.addRow("Task folders:", tasks_box)
        self.form.addRow("Unlabelled text:", unlabeled_row)
        self.form.addRow("Steps:", self.steps_spin)
        self.form.addRow("Device:", self.device_combo)
        self.form.addRow("λ (labelled share):", self.lambda_spin)
        self.form.addRow("Name:", self.name_edit)
        self.form.addRow("More options:", self.extra_edit)

        self.progress = QProgressBar()
        self.progress.setAccessibleName("Meta-training progress")
        self.stats = QLabel("Not started.")
        self.stats.setAccessibleName("Meta-training statistics")
        self.chart = MetaTrainChart()
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setMaximumHeight(90)
        self.log_view.setAccessibleName("Meta-training log")
        self.log_view.setPlaceholderText("Messages from the meta-training process appear here.")

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.ActionRole)
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.stop_button = self.buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.setToolTip(
            "Stop the run; the last saved checkpoint step is kept for resuming"
        )
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_process)
        self.buttons.rejected.connect(self.hide)  # closing the window does not stop the run

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addLayout(self.form)
        layout.addWidget(self.progress)
        layout.addWidget(self.stats)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.log_view)
        layout.addWidget(self.buttons)

        self.restore_choices(settings.metatrain_choices)  # the defaults on a first opening
        self.refresh_stopped_runs()
        for changed in (
            self.tasks_list.model().rowsInserted,
            self.tasks_list.model().rowsRemoved,
            self.unlabeled_edit.textChanged,
            self.steps_spin.valueChanged,
            self.device_combo.currentIndexChanged,
            self.lambda_spin.valueChanged,
            self.name_edit.textChanged,
            self.extra_edit.textChanged,
        ):
            changed.connect(self._fields_changed)

    # ---- inputs -----------------------------------------------------------------------
    def choices(self) -> MetaTrainChoices:
        return MetaTrainChoices(
            tasks=self.task_folders(),
            unlabeled=self.unlabeled_edit.text(),
            steps=self.steps_spin.value(),
            device=self.device_combo.currentText(),
            lam=self.lambda_spin.value(),
            name=self.name_edit.text(),
            extra=self.extra_edit.text(),
        )

    def restore_choices(self, choices: MetaTrainChoices) -> None:
        self.tasks_list.clear()
        for folder in choices.tasks:
            self.add_task_folder(Path(folder))
        self.unlabeled_edit.setText(choices.unlabeled)
        self.steps_spin.setValue(choices.steps)
        if self.device_combo.findText(choices.device) >= 0:  # a GPU may be gone since
            self.device_combo.setCurrentText(choices.device)
        self.lambda_spin.setValue(choices.lam)
        self.name_edit.setText(choices.name)
        self.extra_edit.setText(choices.extra)

    @Slot()
    def _fields_changed(self) -> None:
        """Remember the fields at once (the app may be closed any time), and clear or update
        the banner once the mistake it names is fixed."""
        self._settings.metatrain_choices = self.choices()
        if not self._input_error:
            return
        try:
            self.arguments()
        except ValueError as error:
            self.banner.show_error(str(error))
        else:
            self.banner.clear()
            self._input_error = False

    def refresh_stopped_runs(self) -> None:
        """List the runs that stopped before their last step; the row shows only if any did."""
        from engine.locations import meta_checkpoint_dirs, read_checkpoint_summary
        from engine.metatrain import stopped_run

        self.resume_combo.clear()
        self.resume_combo.addItem("No: start a new run", None)
        for folder in meta_checkpoint_dirs():
            try:
                stopped = stopped_run(folder)
                name = read_checkpoint_summary(folder).get("name", folder.name)
            except (OSError, ValueError) as error:  # listed, not hidden: why it cannot go on
                self.resume_combo.addItem(f"{folder.name}: damaged, cannot be resumed", None)
                item = self.resume_combo.model().item(self.resume_combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip(str(error))
                continue
            if stopped is not None:
                self.resume_combo.addItem(
                    f"{name}: stopped at step {stopped.steps_done} of {stopped.steps_planned}",
                    str(folder),
                )
        self.form.setRowVisible(self.resume_combo, self.resume_combo.count() > 1)

    def showEvent(self, event: QShowEvent) -> None:
        self.refresh_stopped_runs()  # a run may have been stopped from the command line since
        super().showEvent(event)

    @Slot(int)
    def _resume_chosen(self, index: int) -> None:
        folder = self.resume_combo.itemData(index)
        if folder is not None:
            self.load_run(Path(folder))

    def load_run(self, folder: Path) -> None:
        """Set the fields to the stopped run in `folder`, so that Start continues it there."""
        from engine.locations import read_checkpoint_summary, user_meta_root
        from engine.metatrain import stopped_run

        summary, stopped = read_checkpoint_summary(folder), stopped_run(folder)
        training = summary.get("training") or {}
        fields, rest = split_command(training.get("command", "fewshot metatrain"))
        name = summary.get("name", folder.name)
        if folder.resolve() != (user_meta_root() / name).resolve():
            rest += ["--out", str(folder)]
        config = training.get("config", {})
        self.restore_choices(
            MetaTrainChoices(
                tasks=fields.get("--tasks", []),
                unlabeled=next(iter(fields.get("--unlabeled", [])), ""),
                steps=stopped.steps_planned if stopped else config.get("outer_steps", 500),
                device=next(iter(fields.get("--device", [])), ""),
                lam=float(config.get("lam", 0.5)),
                name=name,
                extra=shlex.join(rest),
            )
        )
        if stopped is not None:
            self.stats.setText(
                f"Start continues {name!r} from step {stopped.steps_done} of "
                f"{stopped.steps_planned}."
            )

    def add_task_folder(self, folder: Path) -> None:
        if str(folder) not in self.task_folders():
            self.tasks_list.addItem(str(folder))

    def task_folders(self) -> list[str]:
        return [self.tasks_list.item(row).text() for row in range(self.tasks_list.count())]

    @Slot()
    def _add_task_folder(self) -> None:
        folder = prompts.folder_path(self, "Task folder", self._settings.last_folder)
        if folder is not None:
            self._settings.last_folder = str(folder.parent)
            self.add_task_folder(folder)

    @Slot()
    def _remove_task_folder(self) -> None:
        for item in self.tasks_list.selectedItems():
            self.tasks_list.takeItem(self.tasks_list.row(item))

    @Slot()
    def _browse_unlabeled(self) -> None:
        folder = prompts.folder_path(self, "Unlabelled text folder", self._settings.last_folder)
        if folder is not None:
            self.unlabeled_edit.setText(str(folder))

    def arguments(self) -> list[str]:
        """The `fewshot metatrain` arguments; raises ValueError naming what to fix."""
        tasks, unlabeled = self.task_folders(), self.unlabeled_edit.text().strip()
        name = self.name_edit.text().strip()
        if not tasks and not unlabeled:
            raise ValueError(
                "Add at least one task folder (or an unlabelled text folder) to learn from."
            )
        for folder in tasks + ([unlabeled] if unlabeled else []):
            if not Path(folder).exists():
                raise ValueError(f"The folder {folder} does not exist.")
        if not NAME_PATTERN.match(name):
            raise ValueError(
                "Give the checkpoint a name of letters, digits, '-', '_' or '.', "
                'e.g. "support-tickets".'
            )
        try:
            extra = shlex.split(self.extra_edit.text())
        except ValueError as error:
            raise ValueError(f"The extra options cannot be read ({error}).") from error
        arguments = ["metatrain"]
        if tasks:
            arguments += ["--tasks", *tasks]
        if unlabeled:
            arguments += ["--unlabeled", unlabeled]
        arguments += [
            "--steps",
            str(self.steps_spin.value()),
            "--device",
            self.device_combo.currentText(),
            "--lambda",
            f"{self.lambda_spin.value():g}",
            "--name",
            name,
            "--json-progress",
        ]
        return arguments + extra

    # ---- the process ------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        if self.is_running():
            return
        try:
            arguments = self.arguments()
        except ValueError as error:
            self.banner.show_error(str(error))
            self._input_error = True
            return
        self._input_error = False
        program, program_arguments = engine_command(arguments)
        self.process = QProcess(self)
        self.process.setProcessEnvironment(self._environment())
        self.process.setWorkingDirectory(str(Path.home()))
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._process_error)
        self._stdout_buffer, self._error_message, self.checkpoint, self._stopping = (
            b"",
            None,
            None,
            False,
        )
        self._stage = None
        self.banner.clear()
        self.log_view.clear()
        self.chart.clear(self.steps_spin.value())
        self.progress.setRange(0, 0)
        self.stats.setText("Starting the meta-training program…")
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.log_view.appendPlainText("$ fewshot " + shlex.join(arguments))
        self.process.start(program, program_arguments)

    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    @Slot()
    def stop_process(self) -> None:
        if not self.is_running():
            return
        self._stopping = True
        self.stats.setText("Stopping…")
        self.process.terminate()
        if not self.process.waitForFinished(STOP_GRACE_MS):
            self.process.kill()
            self.process.waitForFinished(STOP_GRACE_MS)

    def _environment(self) -> QProcessEnvironment:
        import engine

        environment = QProcessEnvironment.systemEnvironment()
        # The child must import this same engine, also when the app runs from a source tree.
        source_root = str(Path(engine.__file__).resolve().parent.parent)
        paths = [source_root] + [
            p for p in environment.value("PYTHONPATH", "").split(os.pathsep) if p
        ]
        environment.insert("PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
        environment.insert("PYTHONUNBUFFERED", "1")
        return environment

    @Slot()
    def _read_stdout(self) -> None:
        self._stdout_buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._stdout_buffer = self._stdout_buffer.split(b"\n")
        for line in lines:
            self.handle_line(line.decode("utf-8", errors="replace").strip())

    @Slot()
    def _read_stderr(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode("utf-8", errors="replace")
        for line in text.replace("\r", "\n").splitlines():
            if line.strip():
                self.log_view.appendPlainText(line.rstrip())

    def handle_line(self, line: str) -> None:
        """One line of the child's stdout: a JSON event, or plain text for the log."""
        if not line:
            return
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            self.log_view.appendPlainText(line)
            return
        if not isinstance(event, dict):
            self.log_view.appendPlainText(line)
        elif event.get("event") == "stage":
            self._show_stage(event)
        elif event.get("event") == "progress":
            self._show_progress(event)
        elif event.get("event") == "done":
            self.checkpoint = str(event.get("checkpoint", ""))
        elif event.get("event") == "error":
            self._error_message = str(event.get("message", "unknown error"))
        else:
            self.log_view.appendPlainText(line)

    def _show_stage(self, event: dict) -> None:
        """A step of the preparation (reading the data) before meta-training's first step."""
        stage = str(event.get("stage", ""))
        done, total = int(event.get("done", 0)), int(event.get("total", 0))
        if stage != self._stage:  # the log keeps which stages ran, the label only the last
            self._stage = stage
            self.log_view.appendPlainText(f"{stage}…")
        self.progress.setRange(0, max(total, 0))  # (0, 0): busy, for a stage of unknown length
        self.progress.setValue(done)
        self.stats.setText(stage_text(stage, done, total))

    def _show_progress(self, event: dict) -> None:
        step, total = int(event.get("step", 0)), int(event.get("total", 0))
        loss, accuracy = event.get("loss"), event.get("accuracy")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(step)
        parts = [f"Step {step:,} of {total:,}"]
        if loss is not None:
            parts.append(f"query loss {float(loss):.3f}")
        if accuracy is not None:
            parts.append(f"query accuracy {float(accuracy):.0%}")
        if event.get("episodes_per_s"):
            parts.append(f"{float(event['episodes_per_s']):.2f} episodes/s")
        if event.get("eta_s") is not None and step < total:
            parts.append(f"about {format_duration(float(event['eta_s']))} left")
        self.stats.setText(" · ".join(parts))
        self.chart.add_point(
            step,
            None if loss is None else float(loss),
            None if accuracy is None else float(accuracy),
            total,
        )

    @Slot(int, QProcess.ExitStatus)
    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        if self._stdout_buffer.strip():
            self.handle_line(self._stdout_buffer.decode("utf-8", errors="replace").strip())
            self._stdout_buffer = b""
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setRange(0, max(self.progress.maximum(), 1))
        self.refresh_stopped_runs()
        if self.checkpoint and exit_code == 0:
            self.stats.setText(f"Finished: checkpoint written to {self.checkpoint}.")
            self.banner.show_message(
                f"Done. The checkpoint {Path(self.checkpoint).name!r} can now be chosen in "
                "Settings.",
                MessageKind.SUCCESS,
            )
            self.checkpoint_created.emit(self.checkpoint)
        elif self._stopping:
            self.stats.setText(
                "Stopped. Start again with the same settings (or choose it under Resume) to "
                "continue from the last saved step."
            )
            self.banner.show_message("Meta-training stopped.", MessageKind.INFO)
        else:
            self.banner.show_error(self._failure_message(exit_code, status))
            self.stats.setText("Failed.")

    def _failure_message(self, exit_code: int, status: QProcess.ExitStatus) -> str:
        if self._error_message:
            return f"Meta-training failed: {self._error_message}"
        if status == QProcess.ExitStatus.CrashExit:
            return (
                "The meta-training process crashed (out of memory?). The app is unaffected; "
                "see the log below, and try fewer steps per batch or a shorter text length."
            )
        last = self.log_view.toPlainText().strip().splitlines()[-1:] or ["no message"]
        return f"Meta-training stopped with exit code {exit_code}: {last[0]}"

    @Slot(QProcess.ProcessError)
    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self.banner.show_error(f"Could not start meta-training ({self.process.errorString()}).")
            self.start_button.setEnabled(True)
            self.stop_button.setEnabled(False)
