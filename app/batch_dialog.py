"""Classify every row of a CSV, TSV or Excel file in the background, with rows/s and Cancel."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app import prompts
from app.app_settings import AppSettings
from app.column_guess import guess_text_column
from app.job_runner import JobRunner
from app.message_banner import MessageBanner, MessageKind
from app.model_host import ModelHost
from app.open_folder import open_folder
from app.table_format_row import TableFormatRow
from app.table_preview_model import TablePreviewModel, fit_columns
from app.worker import Worker
from engine.tables import TableError, TableFormat, detect_format, read_table

BATCH_JOB = "batch"
REVIEW_ROWS = 50  # rows "Review the least certain rows" hands to Label next
PREVIEW_ROWS = 20


def batch_job(
    classifier, input_path: Path, output_path: Path, text_column: str, table_format: TableFormat
):

    def job(progress, should_stop):
        from engine.batch import classify_csv

        return classify_csv(
            input_path,
            output_path,
            text_column=text_column,
            predictor=classifier,
            table_format=table_format,
            progress=progress,
            should_stop=should_stop,
        )

    return job


def default_output(input_path: Path) -> Path:
    suffix = ".tsv" if input_path.suffix.lower() in (".tsv", ".txt") else ".csv"
    return input_path.with_name(f"{input_path.stem}-classified{suffix}")


def path_row(edit: QLineEdit, choose_name: str, on_choose) -> QHBoxLayout:
    """A path field with its "Choose…" button beside it."""
    choose = QPushButton("Choose…")
    choose.setAccessibleName(choose_name)
    choose.clicked.connect(on_choose)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(choose)
    return row


class BatchDialog(QDialog):
    """Non-modal: the user can keep working (or trying texts) while a file is classified."""

    review_requested = Signal(list, str)  # the least certain texts, the output file's name

    def __init__(
        self,
        host: ModelHost,
        runner: JobRunner,
        settings: AppSettings,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._host, self._runner, self._settings = host, runner, settings
        self.report = None
        self.setWindowTitle("Classify a file")
        self.setAccessibleName("Classify a file")
        self.resize(780, 560)
        self.banner = MessageBanner()
        self.input_edit = QLineEdit()
        self.input_edit.setReadOnly(True)
        self.input_edit.setPlaceholderText("Choose a CSV, TSV or Excel file…")
        self.input_edit.setAccessibleName("File to classify")
        input_row = path_row(self.input_edit, "Choose the file to classify", self._choose_input)
        self.format_row = TableFormatRow()
        self.format_row.setEnabled(False)  # until a file is chosen
        self.format_row.changed.connect(self._reread)
        self.column_combo = QComboBox()
        self.column_combo.setAccessibleName("Text column")
        self.column_combo.setToolTip("The column holding the texts to classify")
        self.column_combo.currentIndexChanged.connect(self._highlight)
        self.output_edit = QLineEdit()
        self.output_edit.setAccessibleName("Output file")
        self.output_edit.setToolTip(
            "CSV (or TSV) written with the predicted class and probabilities"
        )
        output_row = path_row(self.output_edit, "Choose the output file", self._choose_output)
        form = QFormLayout()
        form.addRow("File:", input_row)
        form.addRow("Read as:", self.format_row)
        form.addRow("Text column:", self.column_combo)
        form.addRow("Write to:", output_row)
        self.preview_model = TablePreviewModel(self)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setAccessibleName("Preview of the file")
        self.preview.setWordWrap(False)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Rows classified")
        self.progress.setVisible(False)
        self.rate = QLabel()
        self.rate.setAccessibleName("Classification speed")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.start_button = self.buttons.addButton(
            "Classify", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.cancel_button = self.buttons.addButton(
            "Cancel", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.cancel_button.setToolTip("Stop; nothing is written to the output file")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.open_folder_button = self.buttons.addButton(
            "Open folder", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.open_folder_button.clicked.connect(self.open_folder)
        self.open_folder_button.setVisible(False)
        self.review_button = self.buttons.addButton(
            "Review the least certain rows", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.review_button.setToolTip(
            f"Label the {REVIEW_ROWS} rows the classifier was least sure of; your corrections "
            "become examples"
        )
        self.review_button.clicked.connect(self.review)
        self.review_button.setVisible(False)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"First {PREVIEW_ROWS} rows:"))
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.rate)
        layout.addWidget(self.buttons)
        self._input: Path | None = None

    # ---- choosing ---------------------------------------------------------------------
    @Slot()
    def _choose_input(self) -> None:
        path = prompts.open_path(
            self, "Classify a file", self._settings.last_folder, prompts.TABLE_FILTER
        )
        if path is not None:
            self.set_input(path)

    def set_input(self, path: Path) -> bool:
        """Detect how the file is written, read the first rows for the preview and columns;
        False (with a message) if unreadable."""
        path = Path(path)
        try:
            detected = detect_format(path)
        except TableError as error:
            self.banner.show_error(str(error))
            return False
        if not self._show_preview(path, detected):
            return False
        self._input = path
        self._settings.last_folder = str(path.parent)
        self.input_edit.setText(str(path))
        self.format_row.set_detected(detected)
        self.format_row.setEnabled(True)
        self.output_edit.setText(str(default_output(path)))
        self.open_folder_button.setVisible(False)
        return True

    @Slot()
    def _reread(self) -> None:
        """The user chose another sheet, delimiter or encoding: preview the file read so."""
        if self._input is not None:
            self._show_preview(self._input, self.format_row.table_format())

    def _show_preview(self, path: Path, table_format: TableFormat) -> bool:
        """Preview and text columns for `path` read as `table_format`; False with a message
        (and the old preview kept) if it cannot be read so."""
        try:
            frame = read_table(path, table_format=table_format, nrows=PREVIEW_ROWS)
        except TableError as error:
            self.banner.show_error(str(error))
            return False
        columns = [str(c) for c in frame.columns]
        if not columns:
            self.banner.show_error(f"`{path.name}` has no columns: is it empty?")
            return False
        rows = frame.astype(str).values.tolist()
        self.preview_model.set_table(columns, rows)
        fit_columns(self.preview)
        chosen = self.column_combo.currentText()
        self.column_combo.blockSignals(True)
        self.column_combo.clear()
        self.column_combo.addItems(columns)
        kept = chosen if chosen in columns else None
        self.column_combo.setCurrentText(kept or guess_text_column(columns, rows) or columns[0])
        self.column_combo.blockSignals(False)
        self._highlight()
        self.banner.clear()
        if not rows:
            self.banner.show_message(
                f"`{path.name}` has a header but no rows.", MessageKind.WARNING
            )
        return True

    def set_text_column(self, column: str) -> None:
        self.column_combo.setCurrentText(column)

    @Slot()
    def _choose_output(self) -> None:
        suggested = self.output_edit.text() or self._settings.last_folder
        path = prompts.save_path(
            self, "Write the results to", suggested, "CSV (*.csv);;TSV (*.tsv)"
        )
        if path is not None:
            self.output_edit.setText(str(path))

    @Slot()
    def _highlight(self) -> None:
        self.preview_model.set_highlighted({self.column_combo.currentText()})

    # ---- running ----------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        classifier = self._host.classifier
        if classifier is None:
            self.banner.show_error("Train the classifier first: the file is classified with it.")
            return
        if self._input is None:
            self.banner.show_error("Choose the file to classify first.")
            return
        output = self.output_edit.text().strip()
        if not output:
            self.banner.show_error("Choose where to write the results.")
            return
        if self._runner.is_running(BATCH_JOB):
            return
        worker = Worker(
            batch_job(
                classifier,
                self._input,
                Path(output).expanduser(),
                self.column_combo.currentText(),
                self.format_row.table_format(),
            ),
            name=BATCH_JOB,
        )
        worker.progressed.connect(self._progressed)
        worker.succeeded.connect(self._done)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        worker.finished.connect(self._finished)
        self.banner.clear()
        self.report = None
        self.rate.setText("Reading the file…")
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.open_folder_button.setVisible(False)
        self._runner.start(worker)

    @Slot()
    def cancel(self) -> None:
        self._runner.abort(BATCH_JOB)
        self.rate.setText("Cancelling…")

    @Slot(str, int, int, object)
    def _progressed(self, stage: str, done: int, total: int, metrics) -> None:
        """Reading: the stage in words; classifying: rows done of the total, and the speed."""
        if "rows/s" not in metrics:
            self.rate.setText(f"{stage}…")
            return
        self.progress.setRange(0, total)  # 0 to 0 (busy) while the total is unknown (XLSX)
        self.progress.setValue(done)
        of_total = f" of {total:,}" if total else ""
        self.rate.setText(f"Classifying: {done:,}{of_total} rows ({metrics['rows/s']:,.0f} rows/s)")

    @Slot(object)
    def _done(self, report) -> None:
        self.report = report
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        empty = f" ({report.empty_rows:,} with empty text left blank)" if report.empty_rows else ""
        self.rate.setText(
            f"{report.rows:,} rows{empty} in {report.seconds:,.1f} s · "
            f"{report.rows_per_second:,.0f} rows/s"
        )
        self.banner.show_message(f"Done: wrote {report.output_path}.", MessageKind.SUCCESS)
        self.open_folder_button.setVisible(True)
        self.review_button.setVisible(True)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.banner.show_error(f"Classification failed: {message}")
        self.rate.clear()

    @Slot()
    def _cancelled(self) -> None:
        self.banner.show_message("Cancelled: the output file was not written.", MessageKind.INFO)
        self.rate.clear()

    @Slot()
    def _finished(self) -> None:
        self.progress.setVisible(self.report is not None)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    @Slot()
    def open_folder(self) -> None:
        if self.report is not None:
            open_folder(Path(self.report.output_path).parent, self.banner)

    @Slot()
    def review(self) -> None:
        from engine.batch import least_certain_texts
        from engine.tables import TableError

        if self.report is None:
            return
        try:
            texts = least_certain_texts(
                self.report.output_path, self.column_combo.currentText(), REVIEW_ROWS
            )
        except TableError as error:
            self.banner.show_error(f"Could not read the results back: {error}")
            return
        self.review_requested.emit(texts, Path(self.report.output_path).name)

    def reject(self) -> None:
        """Closing the dialog while a file is being classified cancels that run."""
        if self._runner.is_running(BATCH_JOB):
            self.cancel()
        super().reject()
