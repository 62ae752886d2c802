"""Classify every row of a CSV/TSV/XLSX file of any size, streaming, with either predictor.

The output is the input with three kinds of columns appended: `predicted_label`,
`confidence` (the winning probability) and one `prob_<label>` per label; a predictor with an
`unsure_below` threshold adds `unsure` (yes where the confidence is below it, so the label
is only a best guess). Every original
column, value and row order is kept (values are read and written back as text). Rows whose
text is empty get empty prediction cells. The output file appears only when the whole input
has been classified; a cancelled or failed run leaves whatever was at the output path.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from engine.files import atomic_path
from engine.progress import ProgressCallback, ProgressEvent, StopCheck, check_cancel
from engine.tables import (
    TableError,
    TableFormat,
    check_columns,
    detect_format,
    read_columns,
    read_table_chunks,
    separator_for,
)

log = logging.getLogger(__name__)

LABEL_COLUMN = "predicted_label"
CONFIDENCE_COLUMN = "confidence"
UNSURE_COLUMN = "unsure"
PROBABILITY_PREFIX = "prob_"
OUTPUT_SUFFIXES = (".csv", ".tsv", ".txt")
# Rows handed to the predictor at once adapt to its speed, so that progress moves and cancel
# answers at least every half second, on a laptop CPU as on a GPU.
FIRST_SLICE = 16  # rows in the first call, before the speed is known: MiniLM on a slow CPU
MAX_SLICE = 4096  # beyond this, larger calls gain nothing
SLICE_SECONDS = 0.25  # the aim; texts sorted by length get slower, so aim below 0.5 s
READING_STAGE = "Reading the file"
CLASSIFYING_STAGE = "Classifying rows"


class Predictor(Protocol):
    """What classify_csv needs: a Classifier or an OnnxClassifier."""

    labels: list[str]
    unsure_below: float  # 0: never unsure

    def predict_proba(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray: ...


@dataclass
class SliceSize:
    """Rows per predictor call, scaled by the measured rate to take about SLICE_SECONDS.

    It grows at most twofold per call (the texts come sorted by length, so the next slice is
    slower than the last) and shrinks at once.
    """

    rows: int = FIRST_SLICE

    def update(self, rows: int, seconds: float) -> None:
        wanted = rows * SLICE_SECONDS / seconds if seconds > 0 else MAX_SLICE
        self.rows = max(1, min(int(wanted), 2 * self.rows, MAX_SLICE))


@dataclass
class BatchReport:
    rows: int  # data rows written, empty-text rows included
    empty_rows: int  # rows whose text was empty: their prediction cells are empty
    seconds: float
    output_path: Path

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def classify_csv(
    input_path: str | Path,
    output_path: str | Path,
    *,
    text_column: str,
    predictor: Predictor,
    table_format: TableFormat | None = None,
    chunk_rows: int = 10_000,
    batch_size: int = 32,
    progress: ProgressCallback | None = None,
    should_stop: StopCheck | None = None,
) -> BatchReport:
    """Write `output_path`: the rows of `input_path` with predictions appended.

    The input is read as `table_format` says, its None fields detected (see
    `engine.tables.detect_format`). Reads `chunk_rows` rows at a time (XLSX is read whole), so
    memory does not grow with the file. The output is CSV (TSV for a .tsv/.txt output path),
    UTF-8. Progress: one READING_STAGE event, then CLASSIFYING_STAGE events at least every
    half second or so. Raises TableError for an unreadable input or a missing `text_column`,
    and `Cancelled` once `should_stop()` turns true; in both cases nothing is written to
    `output_path`.
    """
    started = time.perf_counter()
    for name, value in (("chunk_rows", chunk_rows), ("batch_size", batch_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
    input_path, output_path = Path(input_path), Path(output_path)
    check_paths(input_path, output_path)
    detected = detect_format(input_path, table_format)
    total = estimate_rows(input_path)
    if progress is not None:  # before the header is read: that reads all of a workbook
        progress(ProgressEvent(READING_STAGE, 0, total))
    columns = read_columns(input_path, table_format=detected)
    check_columns(pd.DataFrame(columns=columns), [text_column], input_path)
    unsure_below = float(getattr(predictor, "unsure_below", 0.0))
    added = prediction_columns(predictor.labels, unsure_below)
    replaced = [column for column in columns if column in added]
    if replaced:
        log.warning("%s already has columns %s: they are replaced.", input_path.name, replaced)
    rows = empty_rows = 0
    slices = SliceSize()
    with atomic_path(output_path) as temp, open(temp, "w", encoding="utf-8", newline="") as out:
        chunks = read_table_chunks(input_path, table_format=detected, chunk_rows=chunk_rows)
        for number, chunk in enumerate(chunks):
            check_cancel(should_stop)
            texts = chunk[text_column].tolist()
            probabilities, empty = classify_texts(
                texts,
                predictor,
                batch_size=batch_size,
                slices=slices,
                should_stop=should_stop,
                on_slice=lambda done, before=rows: _report(progress, before + done, total, started),
            )
            frame = with_predictions(
                chunk.drop(columns=replaced), probabilities, predictor.labels, unsure_below
            )
            frame.to_csv(
                out,
                sep=separator_for(output_path),
                index=False,
                header=number == 0,
                na_rep="",
                lineterminator="\n",
            )
            rows += len(chunk)
            empty_rows += int(empty.sum())
            _report(progress, rows, total, started)
        check_cancel(should_stop)
    _report(progress, rows, rows, started)
    seconds = time.perf_counter() - started
    return BatchReport(rows, empty_rows, round(seconds, 3), output_path)


def check_paths(input_path: Path, output_path: Path) -> None:
    if output_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise TableError(
            f"Cannot write `{output_path.name}`: the output is written as it streams, which "
            f"works for {', '.join(OUTPUT_SUFFIXES)} files only. Use e.g. "
            f"`{output_path.with_suffix('.csv').name}`."
        )
    if output_path.exists() and input_path.exists() and output_path.samefile(input_path):
        raise TableError(
            f"The output path `{output_path}` is the input file: choose another output path, "
            "so the original stays as it is."
        )


def prediction_columns(labels: Sequence[str], unsure_below: float = 0.0) -> list[str]:
    probabilities = [f"{PROBABILITY_PREFIX}{label}" for label in labels]
    return [LABEL_COLUMN, CONFIDENCE_COLUMN] + probabilities + [UNSURE_COLUMN] * (unsure_below > 0)


def classify_texts(
    texts: list[str],
    predictor: Predictor,
    *,
    batch_size: int,
    slices: SliceSize | None = None,
    should_stop: StopCheck | None = None,
    on_slice: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (n, N), NaN on rows whose text is blank, and the blank-row mask (n,).

    Texts go to the predictor in slices of similar length (sorted by characters over the
    whole chunk), so its batches pad as little as if it had seen the chunk at once, while
    cancel is still checked every slice. `slices` (updated here, so pass the same one for
    every chunk) sizes them; `on_slice(count)` follows each with how many of `texts` are done.
    """
    slices = slices or SliceSize()
    empty = np.array([not text.strip() for text in texts], dtype=bool)
    filled = np.flatnonzero(~empty)
    by_length = filled[np.argsort([len(texts[i]) for i in filled], kind="stable")]
    probabilities = np.full((len(texts), len(predictor.labels)), np.nan, dtype=np.float32)
    start = 0
    while start < len(by_length):
        check_cancel(should_stop)
        chosen = by_length[start : start + slices.rows]
        began = time.perf_counter()
        probabilities[chosen] = predictor.predict_proba(
            [texts[i] for i in chosen], batch_size=batch_size
        )
        if len(chosen) == slices.rows:  # a chunk's short last slice would misjudge the rate
            slices.update(len(chosen), time.perf_counter() - began)
        start += len(chosen)
        if on_slice is not None:
            on_slice(int(empty.sum()) + start)
    return probabilities, empty


def with_predictions(
    chunk: pd.DataFrame,
    probabilities: np.ndarray,
    labels: Sequence[str],
    unsure_below: float = 0.0,
):
    """`chunk` with predicted_label, confidence, prob_<label> (and unsure) columns appended.

    probabilities (n, N) with NaN rows for blank texts, which get "" and empty cells.
    """
    empty = np.isnan(probabilities).any(axis=1)
    best = np.nan_to_num(probabilities, nan=-1.0).argmax(axis=1)  # (n,)
    # Six decimals, written by numpy's shortest repr: twice as fast as a float_format.
    probabilities = np.round(probabilities.astype(np.float64), 6)
    added = {
        LABEL_COLUMN: np.where(empty, "", np.asarray(labels, dtype=object)[best]),
        CONFIDENCE_COLUMN: probabilities[np.arange(len(best)), best],  # NaN where blank
    }
    for column, label in enumerate(labels):
        added[f"{PROBABILITY_PREFIX}{label}"] = probabilities[:, column]
    if unsure_below > 0:
        unsure = ~empty & (added[CONFIDENCE_COLUMN] < unsure_below)
        added[UNSURE_COLUMN] = np.where(unsure, "yes", "")
    return chunk.assign(**{name: pd.Series(v, index=chunk.index) for name, v in added.items()})


def estimate_rows(path: Path) -> int:
    """Data rows, cheaply: newlines counted in binary (an overestimate when quoted cells hold
    newlines); 0 (unknown) for XLSX, which would need a full read to count."""
    if path.suffix.lower() == ".xlsx":
        return 0
    newlines, last = 0, b"\n"
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            newlines += block.count(b"\n")
            last = block[-1:]
    lines = newlines + (last != b"\n")  # a last line without a newline still counts
    return max(lines - 1, 0)


def _report(progress: ProgressCallback | None, done: int, total: int, started: float) -> None:
    if progress is None:
        return
    seconds = time.perf_counter() - started
    rate = done / seconds if seconds > 0 else 0.0
    # The estimate may be short of the truth: never report more done than total.
    total = max(total, done) if total else 0
    progress(ProgressEvent(CLASSIFYING_STAGE, done, total, {"rows/s": rate}))


def load_predictor(path: str | Path, *, threads: int | None = None) -> Predictor:
    """A Classifier for a `.safetensors` classifier file, an OnnxClassifier for an export folder.

    `threads` sets onnxruntime's threads for an export folder (torch's are process-wide and
    left alone). Only a classifier file loads torch.
    """
    path = Path(path)
    if path.is_dir():
        from engine.onnx_predictor import OnnxClassifier

        return OnnxClassifier.load(path, threads=threads)
    if path.is_file() and path.suffix.lower() == ".safetensors":
        from engine.classifier import Classifier

        return Classifier.load(path)
    raise ValueError(
        f"`{path}` is neither a classifier file (.safetensors) nor an ONNX export folder. "
        "Pass the file written by `fewshot train` or the folder written by `fewshot export`."
    )


def least_certain_texts(output_path: str | Path, text_column: str, count: int) -> list[str]:
    """The texts of the `count` rows of a classify_csv output with the lowest confidence,
    least certain first (read in chunks: outputs can be any size)."""
    import heapq

    lowest: list[tuple[float, int, str]] = []  # (-confidence, row, text): a max-heap of `count`
    row = 0
    for chunk in read_table_chunks(output_path):
        check_columns(chunk, [text_column, CONFIDENCE_COLUMN], output_path)
        for text, confidence in zip(chunk[text_column], chunk[CONFIDENCE_COLUMN], strict=True):
            row += 1
            if text.strip() and confidence:
                heapq.heappush(lowest, (-float(confidence), row, text))
                if len(lowest) > count:
                    heapq.heappop(lowest)
    return [text for _, _, text in sorted(lowest, key=lambda item: (-item[0], item[1]))]
