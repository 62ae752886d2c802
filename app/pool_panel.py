"""The Unlabeled pool beside the examples: texts to label, each with the model's suggestion,
in the order the chosen strategy puts them; Label next works through that queue."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.document import Document
from app.job_runner import JobRunner
from app.model_host import ModelHost
from app.worker import Worker
from engine.training_state import plural

SUGGEST_JOB = "suggest"
# After a retrain, the new classifier first reads the texts its early ranking (on the old
# features) puts first, and ranks those exactly; then the rest (docs/benchmarks.md).
FIRST_CANDIDATES = 1000
STRATEGY_NAMES = {  # engine.suggestions.STRATEGIES, in words
    "uncertainty": "Least sure first",
    "entropy": "Most confused first",
    "diverse": "Least sure, varied",
    "random": "Random order",
}


def suggest_job(predictor, texts: list[str], known: dict, strategy: str, prior=None):
    """Features for the texts not in `known` (text -> vector), then the queue for all.

    `prior`: (backbone, class names) to build a NamePrior here, in the worker (it runs the
    encoder), when `predictor` is None.
    """

    def job(progress, should_stop):
        import numpy as np

        from engine.suggestions import NamePrior, PoolFeatures, suggest

        nonlocal predictor
        if predictor is None:
            backbone, names = prior
            predictor = NamePrior(backbone, names, max_length=64)
        missing = [text for text in texts if text not in known]
        computed = PoolFeatures.compute(
            predictor.embed, missing, progress=progress, should_stop=should_stop
        )
        vectors = {**known, **dict(zip(missing, computed.features, strict=True))}
        features = PoolFeatures(np.stack([vectors[t] for t in texts]))
        suggestions, _ = suggest(predictor, texts, strategy=strategy, features=features)
        return predictor, vectors, texts, suggestions

    return job


class PoolPanel(QWidget):
    """Suggestions come from the live classifier, or before one exists from the class names;
    they are recomputed in the background whenever the classifier, the pool or the strategy
    changes, and the features of a classifier's pool are kept so a re-rank is cheap."""

    label_next_requested = Signal()
    queue_changed = Signal()  # a new queue is shown

    def __init__(
        self,
        document: Document,
        host: ModelHost,
        runner: JobRunner,
        actions: list[QAction],
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self._document, self._host, self._runner = document, host, runner
        self._predictor = None  # what the cached features belong to
        self._vectors: dict = {}
        self._again = False  # a refresh was asked for while one ran
        self.strategy_combo = QComboBox()
        for key, name in STRATEGY_NAMES.items():
            self.strategy_combo.addItem(name, key)
        self.strategy_combo.setToolTip("Which texts the queue shows first")
        self.strategy_combo.setAccessibleName("Queue order")
        self.strategy_combo.currentIndexChanged.connect(self.refresh)
        self.label_next_button = QPushButton("Label next")
        self.label_next_button.setToolTip(
            "One text at a time: Enter accepts, 1-9 picks a class, S skips, Backspace undoes"
        )
        self.label_next_button.clicked.connect(self.label_next_requested)
        self.status = QLabel()
        self.status.setObjectName("panelSummary")
        self.status.setWordWrap(True)
        self.view = QTableView()
        self.view.setModel(document.pool)
        self.view.setTabKeyNavigation(False)
        self.view.setAccessibleName("Unlabeled texts")
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setAlternatingRowColors(True)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(1, 130)
        header.resizeSection(2, 90)
        bar = QHBoxLayout()
        for action in actions:
            button = QToolButton()
            button.setDefaultAction(action)
            bar.addWidget(button)
        bar.addSpacing(12)
        bar.addWidget(QLabel("Order:"))
        bar.addWidget(self.strategy_combo)
        bar.addStretch(1)
        bar.addWidget(self.label_next_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)

        document.pool.modelReset.connect(self._pool_changed)
        document.classes.modelReset.connect(self.refresh)
        host.classifier_changed.connect(self.refresh)
        host.model_ready.connect(self.refresh)
        runner.job_finished.connect(self._job_finished)
        self._pool_changed()

    @property
    def strategy(self) -> str:
        return self.strategy_combo.currentData()

    def is_refreshing(self) -> bool:
        return self._runner.is_running(SUGGEST_JOB)

    def _predictor_now(self):
        """(predictor, None): the live classifier or the prior already built for these class
        names; (None, (backbone, names)): a prior to build; (None, None): nothing yet."""
        if self._host.classifier is not None:
            return self._host.classifier, None
        names = self._document.class_names()
        if not names or not self._host.is_ready:
            return None, None
        if getattr(self._predictor, "labels", None) == names and not hasattr(
            self._predictor, "training"
        ):
            return self._predictor, None  # the same class names: the same prior
        return None, (self._host.model.backbone, names)

    @Slot()
    def refresh(self) -> None:
        texts = self._document.pool.texts()
        if not texts:
            return
        if self.is_refreshing():
            self._again = True
            return
        predictor, prior = self._predictor_now()
        if predictor is None and prior is None:
            self.status.setText(
                f"{plural(len(texts), 'text')} to label. Add classes (or examples) to see "
                "suggestions."
            )
            return
        known = self._vectors if predictor is self._predictor else {}
        if not known and self._can_rank_early(predictor, texts):
            texts = self._rank_early(predictor, texts)[:FIRST_CANDIDATES]
        job = suggest_job(predictor, texts, dict(known), self.strategy, prior)
        worker = Worker(job, name=SUGGEST_JOB)
        worker.succeeded.connect(self._suggested)
        worker.failed.connect(lambda message: self.status.setText(f"No suggestions: {message}"))
        self.status.setText(f"{plural(len(texts), 'text')} to label. Updating suggestions…")
        self._runner.start(worker)

    def _can_rank_early(self, predictor, texts: list[str]) -> bool:
        """A retrained classifier can rank the pool at once on the previous classifier's
        features (same encoder, adapters moved a little) while it reads the pool itself."""
        previous = self._predictor
        return (
            previous is not None
            and hasattr(previous, "training")
            and hasattr(predictor, "training")
            and all(text in self._vectors for text in texts)
        )

    def _rank_early(self, predictor, texts: list[str]) -> list[str]:
        """Show the early queue; returns it."""
        import numpy as np

        from engine.suggestions import PoolFeatures, suggest

        features = PoolFeatures(np.stack([self._vectors[text] for text in texts]))
        suggestions, _ = suggest(predictor, texts, strategy=self.strategy, features=features)
        return self._show(texts, suggestions)

    def _show(self, texts: list[str], suggestions) -> list[str]:
        """Show a queue for `texts`; when they are part of the pool, they go first and the
        others keep their place and suggestion behind them. Returns the queue shown."""
        pool = self._document.pool
        ranked = [texts[i] for i in suggestions.order]
        labelled = zip(suggestions.suggested, suggestions.confidence.tolist(), strict=True)
        suggested = dict(zip(texts, labelled, strict=True))
        chosen = set(texts)
        rest = [text for text in pool.queue() if text not in chosen]
        kept = {text: pool.suggestion(text) for text in rest if pool.suggestion(text)}
        pool.set_suggestions(ranked + rest, {**kept, **suggested})
        self.queue_changed.emit()
        return ranked + rest

    @Slot(object)
    def _suggested(self, result) -> None:
        predictor, vectors, texts, suggestions = result
        self._predictor, self._vectors = predictor, vectors
        self._show(texts, suggestions)
        if len(texts) < len(self._document.pool.texts()):
            self._again = True  # the first candidates are exact; now the whole pool
        source = "the classifier" if hasattr(predictor, "training") else "the class names"
        count = len(self._document.pool.texts())
        self.status.setText(
            f"{plural(count, 'text')} to label; suggestions from {source}, "
            f"{STRATEGY_NAMES[self.strategy].lower()}."
        )

    @Slot()
    def _pool_changed(self) -> None:
        pool = self._document.pool
        count = len(pool.texts())
        self.label_next_button.setEnabled(count > 0)
        if any(pool.suggestion(text) is None for text in pool.texts()):
            self.refresh()
        elif not count:
            self.status.setText(
                "No unlabeled texts. Import a file of texts (Edit > Import texts to label) or "
                "paste them here, and the model suggests a class for each."
            )

    @Slot(str)
    def _job_finished(self, name: str) -> None:
        if name == SUGGEST_JOB and self._again:
            self._again = False
            self.refresh()
