"""Take the screenshots in docs/screenshots/ from the real app (real engine, real training).

Run under a virtual X server, so they look as on a Linux desktop:

    apt-get install -y xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
        libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxkbcommon-x11-0
    HF_HUB_OFFLINE=1 xvfb-run -a -s "-screen 0 1600x1000x24" python packaging/screenshots.py

It uses a throw-away data dir (a first start: the example project opens), trains, tries a
sentence, imports, classifies a file, exports to ONNX, meta-trains for a few steps on
/work/shared/data (or --data), and saves one PNG per screen.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument(
        "--data",
        type=Path,
        default=Path("/work/shared/data"),
        help="folder with meta_train/ and unlabeled/ for the meta-training shot",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fewshot-shots-"))
    os.environ["FEWSHOT_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from app import prompts
    from app.main_window import MainWindow
    from app.style import STYLE_SHEET

    prompts.yes_no = lambda *a, **k: False  # no modal questions during the shots
    prompts.unsaved_changes = lambda *a, **k: prompts.UnsavedChoice.DISCARD
    app = QApplication(sys.argv[:1])
    app.setStyle("Fusion")
    app.setStyleSheet(STYLE_SHEET)
    shots = Shots(app, args.out)

    window = MainWindow()
    window.resize(1440, 880)
    window.show()
    window.start()
    shots.wait(lambda: window.host.is_ready, 180)
    shots.wait(lambda: False, 0.5)
    shots.take(window, "01-first-start.png")

    panel = window.train_panel
    panel.train()
    shots.wait(lambda: " of " in panel.stage.text(), 120)
    shots.take(window, "02-training.png")
    # The classifier is ready first; the quality estimate runs as its own stage.
    shots.wait(lambda: "fold" in panel.estimate_stage.text(), 300)
    window.try_panel.input.setPlainText("The new tablet ships with a faster processor")
    shots.wait(lambda: window.try_panel.prediction.text().startswith("technology"), 60)
    shots.take(window, "10-quality-stage.png")
    shots.wait(lambda: not panel.is_estimating, 300)
    window.examples_panel.view.clearSelection()
    shots.take(window, "03-trained-and-try-it.png")  # trained, estimated, up to date
    # Then a duplicate, a row without a class and a new class: the Check column and an
    # out-of-date classifier.
    window.importer.paste_text(
        "He finished the cycling stage in first place\tsports\nA brand new line to sort"
    )
    window.importer.paste_text(
        "Symptoms of the flu include fever\thealth\nWash your hands often\thealth\n"
        "The clinic opens at nine\thealth"
    )
    window.banner.clear()
    window.examples_panel.view.clearSelection()
    shots.take(window, "11-out-of-date.png")
    window.document.undo_stack.undo()

    tickets = [
        [1, "My invoice shows the wrong amount (€ 12,50)", "billing"],
        [2, "The app crashes when I open settings", "bug"],
        [3, "Please add a dark mode", "feature request"],
        [4, "I was charged twice this month", "billing"],
        [5, "Export to PDF fails with an error", "bug"],
        [6, "Could you support calendar sync? Merci!", "feature request"],
    ]
    # As spreadsheets save CSV in much of Europe: semicolons, Windows-1252.
    table = work / "support-tickets.csv"
    lines = ["id;message;category"] + [";".join(map(str, row)) for row in tickets]
    table.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))
    window.importer.import_file(table)
    shots.take(window.importer.dialog, "04-import.png")
    window.importer.dialog.reject()
    import pandas as pd

    workbook = work / "support-export.xlsx"
    with pd.ExcelWriter(workbook) as writer:
        pd.DataFrame({"read me": ["Exported from the help desk"]}).to_excel(
            writer, sheet_name="About", index=False
        )
        pd.DataFrame(tickets, columns=["id", "message", "category"]).to_excel(
            writer, sheet_name="Tickets", index=False
        )
    window.importer.import_file(workbook)
    dialog = window.importer.dialog
    dialog.format_row.sheet_combo.setCurrentText("Tickets")
    shots.take(dialog, "12-import-workbook-sheet.png")
    dialog.reject()

    incoming = work / "news-to-sort.csv"
    sentences = [
        "The striker scored twice",
        "Stir the risotto slowly",
        "The chip maker released a new GPU",
        "Bake the bread for forty minutes",
        "The league final was postponed",
        "A security update for the browser",
    ]
    write_rows(incoming, ["id", "text"], [[i, sentences[i % len(sentences)]] for i in range(600)])
    window.show_batch()
    batch = window.batch_dialog
    batch.set_input(incoming)
    batch.start()
    shots.wait(lambda: batch.report is not None, 300)
    shots.take(batch, "05-classify-a-file.png")
    batch.hide()

    window.show_export()
    export = window.export_dialog
    export.folder_edit.setText(str(work / "topics-onnx"))
    export.int8_box.setChecked(True)
    export.export()
    shots.wait(lambda: export.report is not None or export.banner.kind is not None, 300)
    shots.take(export, "06-export-onnx.png")
    export.hide()

    window.show_metatrain()
    meta = window.metatrain_dialog
    for task in ("ag_news", "trec6", "snips", "yelp_sentence_polarity"):
        if (args.data / "meta_train" / task).is_dir():
            meta.add_task_folder(args.data / "meta_train" / task)
    meta.steps_spin.setValue(24)
    meta.lambda_spin.setValue(1.0)
    meta.name_edit.setText("screenshot-demo")
    meta.extra_edit.setText(
        "--first-order --n-way 2 3 --k-shot 2 4 --query 2 --max-length 32 "
        "--inner-steps 2 --meta-batch 1 --validation-episodes 1"
    )
    meta.start()
    shots.wait(lambda: not meta.is_running(), 600)
    shots.take(meta, "07-meta-training.png")
    meta.hide()

    window.show_settings()
    shots.take(window.settings_dialog, "08-settings.png")
    window.settings_dialog.reject()

    window.importer.add_pool_texts(
        [
            "The goalkeeper saved two penalties",
            "Slice the onions thinly and fry them",
            "The phone's battery lasts two days",
            "Stir the sauce until it thickens",
            "The cyclist won the mountain stage",
            "A new laptop with a brighter screen",
            "Fold the egg whites into the batter",
            "The marathon starts at nine",
        ],
        "screenshot",
    )
    pool = window.document.pool
    shots.wait(
        lambda: (
            not window.pool_panel.is_refreshing()
            and all(pool.suggestion(text) for text in pool.texts())
        ),
        120,
    )
    shots.take(window, "13-unlabeled-pool.png")
    window.label_next()
    shots.take(window.label_dialog, "14-label-next.png")
    window.label_dialog.close()

    window.document.undo_stack.setClean()
    window.close()
    print(f"Wrote {len(shots.taken)} screenshots to {args.out}: {', '.join(shots.taken)}")
    return 0


class Shots:
    def __init__(self, app, folder: Path):
        self.app, self.folder, self.taken = app, folder, []

    def wait(self, condition, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            self.app.processEvents()
            time.sleep(0.02)

    def take(self, widget, name: str) -> None:
        self.wait(lambda: False, 0.4)  # let layouts settle and pending paints happen
        widget.grab().save(str(self.folder / name))
        self.taken.append(name)


def write_rows(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


if __name__ == "__main__":
    sys.exit(main())
