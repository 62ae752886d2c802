"""The few-shot methods `fewshot bench` compares, each behind one interface.

All use the same backbone, tokenisation, max length and pooled features; the baselines' recipes
(learning rates, steps) are fixed once for the whole suite, never tuned per task.
"""

from __future__ import annotations

import tempfile
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.adapters import AdaptedEncoder
from engine.backbone import Backbone, encode_texts, pool
from engine.bench.suite import Examples
from engine.classifier import Classifier, pooled_outputs
from engine.finetune import Batch, Params, support_gradients
from engine.formats import MetaCheckpoint, initial_meta_checkpoint
from engine.head import HEAD_BIAS, HEAD_WEIGHT, head_logits, prototype_head

HOULSBY_RECIPE = {"lr": 1e-3, "steps": 30}  # Adam, full batch: chosen once for the whole suite
FULL_FINETUNE_RECIPE = {"lr": 3e-5, "steps": 30}
LINEAR_PROBE_C = 10.0  # inverse L2 strength on unit-norm features; C=1 underfits badly
PROTOTYPE_SCALE = 10.0
# The SetFit paper's recipe (R = 20 pair iterations, 1 epoch). setfit 1.x's own default draws
# every unique pair instead: ~97k pairs for 20 classes x 16, hours per task on a laptop CPU.
SETFIT_ITERATIONS = 20


@dataclass
class RunResult:
    predictions: list[str]
    fit_seconds: float
    predict_seconds: float
    trainable_parameters: int
    saved_bytes: int


class MethodUnavailable(RuntimeError):
    """The method cannot run here (a missing optional package or checkpoint); says why."""


class Method(ABC):
    name: str

    def __init__(self, backbone: Backbone, *, max_length: int):
        self.backbone, self.max_length = backbone, max_length

    @abstractmethod
    def run(self, train: Examples, evaluation: Examples) -> RunResult: ...


class MetaAdapterMethod(Method):
    """Ours: fine-tune with a meta-learned checkpoint (learned init, step sizes and S)."""

    name = "meta-adapter"

    def __init__(self, backbone: Backbone, *, max_length: int, meta: MetaCheckpoint | None):
        super().__init__(backbone, max_length=max_length)
        if meta is None or not meta.trained:
            raise MethodUnavailable(f"`{self.name}` needs a meta-trained checkpoint (--meta).")
        self.meta = meta

    def run(self, train: Examples, evaluation: Examples) -> RunResult:
        started = time.perf_counter()
        classifier = Classifier(self.backbone, self.meta, max_length=self.max_length)
        classifier.fit(train.texts, train.labels)
        fitted = time.perf_counter()
        probabilities = classifier.predict_proba(evaluation.texts)
        predicted = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            size = classifier.save(Path(folder) / "c.safetensors").stat().st_size
        trainable = sum(t.numel() for t in self.meta.phi0.values()) + len(classifier.labels) * (
            self.backbone.hidden_size + 1
        )
        return RunResult(
            [classifier.labels[i] for i in probabilities.argmax(1)],
            fitted - started,
            predicted - fitted,
            trainable,
            size,
        )


class MamlAdapterMethod(MetaAdapterMethod):
    """The paper's ablation: meta-learned adapter init and step sizes, no meta-adapters."""

    name = "maml-adapter"


class GradientMethod(Method):
    """Adam on a chosen parameter group of an adapted encoder plus a prototype-initialised head."""

    recipe: dict
    trained_group: str  # "phi" (adapters) or "theta" (every encoder weight)

    def run(self, train: Examples, evaluation: Examples) -> RunResult:
        started = time.perf_counter()
        classes = sorted(set(train.labels))
        config = initial_meta_checkpoint(self.backbone).config
        model = AdaptedEncoder(self.backbone, config, copy_weights=self.trained_group == "theta")
        model.requires_grad_(False)
        inputs = encode_texts(self.backbone, train.texts, self.max_length)
        labels = torch.tensor([classes.index(label) for label in train.labels])
        support = Batch(inputs, labels.to(inputs["input_ids"].device))
        with torch.no_grad():
            features = model(**inputs)
        head = prototype_head(features, support.labels, len(classes), torch.tensor(PROTOTYPE_SCALE))
        params = {**model.group(self.trained_group), **head}
        params = adam_fit(model, params, support, **self.recipe)
        model.load_state_dict(
            {n: p for n, p in params.items() if not n.startswith("head.")}, strict=False
        )
        fitted = time.perf_counter()
        head = {n: params[n].detach() for n in (HEAD_WEIGHT, HEAD_BIAS)}
        features = pooled_outputs(model, self.backbone, evaluation.texts, self.max_length)
        probabilities = head_logits(torch.from_numpy(features), head).numpy()
        predicted = time.perf_counter()
        trainable = sum(p.numel() for p in params.values())
        return RunResult(
            [classes[i] for i in probabilities.argmax(1)],
            fitted - started,
            predicted - fitted,
            trainable,
            4 * trainable,
        )


class HoulsbyAdapterMethod(GradientMethod):
    """Randomly initialised adapters (no meta-learning) trained with a hand-picked recipe."""

    name = "adapter"
    recipe = HOULSBY_RECIPE
    trained_group = "phi"


class FullFinetuneMethod(GradientMethod):
    """Every encoder weight trained, same head: the expensive upper reference."""

    name = "full-finetune"
    recipe = FULL_FINETUNE_RECIPE
    trained_group = "theta"


def adam_fit(
    model: AdaptedEncoder, params: Params, support: Batch, *, lr: float, steps: int
) -> Params:
    """`steps` full-batch Adam steps on `params` (functional: the module is not touched)."""
    params = {n: p.detach().clone().requires_grad_() for n, p in params.items()}
    optimizer = torch.optim.Adam(params.values(), lr=lr)
    for _ in range(steps):
        _, grads = support_gradients(model, params, support, create_graph=False, chunk_size=32)
        for parameter, gradient in zip(params.values(), grads):
            parameter.grad = gradient
        optimizer.step()
    return params


class FrozenEmbeddings:
    """Pooled features of the frozen encoder, computed once per text across runs."""

    def __init__(self, backbone: Backbone, max_length: int):
        self.backbone, self.max_length = backbone, max_length
        self.cache: dict = {}

    def __call__(self, texts: list) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.cache))
        with torch.inference_mode():
            for start in range(0, len(missing), 64):
                chunk = missing[start : start + 64]
                inputs = encode_texts(self.backbone, chunk, self.max_length)
                hidden = self.backbone.model(**inputs).last_hidden_state
                features = pool(hidden, inputs["attention_mask"], self.backbone.pooling)
                self.cache.update(zip(chunk, features.float().cpu().numpy()))
        return np.stack([self.cache[t] for t in texts])


class EmbeddingMethod(Method):
    def __init__(self, backbone: Backbone, *, max_length: int, embeddings: FrozenEmbeddings):
        super().__init__(backbone, max_length=max_length)
        self.embeddings = embeddings

    def run(self, train: Examples, evaluation: Examples) -> RunResult:
        started = time.perf_counter()
        classes = np.array(sorted(set(train.labels)))
        predict, trainable = self.fit(self.embeddings(train.texts), np.array(train.labels), classes)
        fitted = time.perf_counter()
        predictions = predict(self.embeddings(evaluation.texts))
        predicted = time.perf_counter()
        return RunResult(
            list(predictions), fitted - started, predicted - fitted, trainable, 4 * trainable
        )

    @abstractmethod
    def fit(self, features: np.ndarray, labels: np.ndarray, classes: np.ndarray): ...


class LinearProbeMethod(EmbeddingMethod):
    """Logistic regression on frozen pooled embeddings."""

    name = "linear-probe"

    def fit(self, features, labels, classes):
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=LINEAR_PROBE_C, max_iter=2000).fit(features, labels)
        return model.predict, model.coef_.size + model.intercept_.size


class PrototypeMethod(EmbeddingMethod):
    """Nearest class mean (cosine) on frozen pooled embeddings."""

    name = "prototype"

    def fit(self, features, labels, classes):
        prototypes = np.stack([features[labels == c].mean(0) for c in classes])
        prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
        return (lambda x: classes[(x @ prototypes.T).argmax(1)]), prototypes.size


class SetFitMethod(Method):
    """SetFit (contrastive sentence-transformer fine-tuning + logistic head), paper recipe."""

    name = "setfit"

    def __init__(self, backbone: Backbone, *, max_length: int, seed: int):
        super().__init__(backbone, max_length=max_length)
        try:
            import setfit  # noqa: F401
        except ImportError as error:
            raise MethodUnavailable(
                "`setfit` is not installed: `pip install -e .[setfit]` to include it."
            ) from error
        if backbone.model_dir is None:
            raise MethodUnavailable("`setfit` needs a local sentence-transformers model folder.")
        self.seed = seed

    def run(self, train: Examples, evaluation: Examples) -> RunResult:
        from datasets import Dataset
        from setfit import SetFitModel, Trainer, TrainingArguments

        if any(isinstance(t, tuple) for t in train.texts):
            join = lambda t: " [SEP] ".join(t) if isinstance(t, tuple) else t  # noqa: E731
            train = Examples([join(t) for t in train.texts], train.labels)
            evaluation = Examples([join(t) for t in evaluation.texts], evaluation.labels)
        started = time.perf_counter()
        model = SetFitModel.from_pretrained(
            str(self.backbone.model_dir), device=str(self.backbone.device)
        )
        model.model_body.max_seq_length = self.max_length
        dataset = Dataset.from_dict({"text": train.texts, "label": train.labels})
        with tempfile.TemporaryDirectory() as scratch:  # its trainer writes checkpoints
            arguments = TrainingArguments(
                output_dir=scratch, seed=self.seed, num_iterations=SETFIT_ITERATIONS
            )
            Trainer(model=model, args=arguments, train_dataset=dataset).train()
        fitted = time.perf_counter()
        predictions = [str(p) for p in model.predict(evaluation.texts)]
        predicted = time.perf_counter()
        trainable = sum(p.numel() for p in model.model_body.parameters())
        return RunResult(
            predictions, fitted - started, predicted - fitted, trainable, 4 * trainable
        )
