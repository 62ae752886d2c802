"""Import examples from a CSV, TSV or Excel file: pick the columns, see a preview."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.column_guess import guess_label_column, guess_text_column
from app.message_banner import MessageBanner
from app.table_preview_model import TablePreviewModel, fit_columns

PREVIEW_ROWS = 50


class ImportDialog(QDialog):
    """Shown non-modally (open()); the caller reads text_column/label_column on accepted."""

    def __init__(self, path: Path, frame, default_class: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.path = Path(path)
        self._frame = frame  # a pandas DataFrame of strings (engine.tables.read_table)
        self._default_class = default_class
        self.setWindowTitle(f"Import examples from {self.path.name}")
        self.setAccessibleName("Import examples")
        self.resize(760, 520)
        columns = [str(c) for c in frame.columns]
        rows = frame.head(PREVIEW_ROWS).astype(str).values.tolist()

        self.banner = MessageBanner()
        intro = QLabel(f"<b>{self.path.name}</b>: {len(frame):,} rows, {len(columns)} columns.")
        self.text_combo = QComboBox()
        self.text_combo.addItems(columns)
        self.text_combo.setAccessibleName("Text column")
        self.text_combo.setToolTip("The column holding the texts to learn from")
        self.label_combo = QComboBox()
        no_label = (
            f"(none: use the selected class {default_class!r})"
            if default_class
            else "(none: no class yet)"
        )
        self.label_combo.addItem(no_label, None)
        for column in columns:
            self.label_combo.addItem(column, column)
        self.label_combo.setAccessibleName("Class column")
        self.label_combo.setToolTip("The column holding each text's class, if the file has one")
        form = QFormLayout()
        form.addRow("Text column:", self.text_combo)
        form.addRow("Class column:", self.label_combo)

        self.preview_model = TablePreviewModel(self)
        self.preview_model.set_table(columns, rows)
        self.preview = QTableView()
        self.preview.setModel(self.preview_model)
        self.preview.setAccessibleName("Preview of the file")
        self.preview.setWordWrap(False)
        fit_columns(self.preview)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.buttons)

        text_column = guess_text_column(columns, rows)
        self.set_columns(text_column, guess_label_column(columns, text_column))
        self.text_combo.currentIndexChanged.connect(self._update)
        self.label_combo.currentIndexChanged.connect(self._update)

    @property
    def text_column(self) -> str:
        return self.text_combo.currentText()

    @property
    def label_column(self) -> str | None:
        return self.label_combo.currentData()

    def set_columns(self, text_column: str | None, label_column: str | None) -> None:
        if text_column is not None:
            self.text_combo.setCurrentText(text_column)
        position = self.label_combo.findData(label_column) if label_column else 0
        self.label_combo.setCurrentIndex(max(position, 0))
        self._update()

    @Slot()
    def _update(self) -> None:
        columns = {self.text_column} | ({self.label_column} if self.label_column else set())
        self.preview_model.set_highlighted(columns)
        texts = self._frame[self.text_column].astype(str)
        empty = int((texts.str.strip() == "").sum())
        if self.label_column:
            counts = Counter(self._frame[self.label_column].astype(str).str.strip())
            counts.pop("", None)
            classes = ", ".join(f"{name} ({n})" for name, n in counts.most_common(6))
            more = f" and {len(counts) - 6} more" if len(counts) > 6 else ""
            text = f"{len(texts) - empty:,} examples in {len(counts)} classes: {classes}{more}."
        else:
            goes_to = f"class {self._default_class!r}" if self._default_class else "no class yet"
            text = f"{len(texts) - empty:,} examples, all to {goes_to}."
        if empty:
            text += f" {empty} row(s) with an empty text will be skipped."
        self.summary.setText(text)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(len(texts) > empty)
        if len(texts) == empty:
            self.banner.show_error(
                f"The column {self.text_column!r} has no text in any row: pick another."
            )
        else:
            self.banner.clear()
