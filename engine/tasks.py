"""Few-shot episodes for meta-training: supervised tasks, SMLMT and word-cluster SMLMT.

Every sampler is a pure function of a `random.Random`, so an episode stream is fixed by its
seed and a resumed run sees exactly the episodes an uninterrupted one would have.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import numpy as np

from engine.backbone import Text
from engine.families import family_of
from engine.files import atomic_path, atomic_write_text
from engine.progress import ProgressCallback, ProgressEvent

log = logging.getLogger(__name__)
WORD = re.compile(r"\b[a-z]{3,}\b")  # whole alphabetic words, as masking sees them
STOPWORDS = frozenset(
    "the and for are but not you all any can had her was one our out day get has him his how "
    "man new now old see two way who boy did its let put say she too use that with have this "
    "will your from they know want been good much some time very when come here just like long "
    "make many more only over such take than them well were what which their there would about "
    "could other after first into also most these those then where while being because should "
    "through during before under between each both same own again further once does doing "
    "having until against above below off why whom nor few very can will just don".split()
)
# The stages of build_sampler, in the order they run; `done` and `total` count the unit named.
LOADING_TASKS = "Loading task folders"  # folders
READING_TEXT = "Reading unlabeled text"  # files
INDEXING_WORDS = "Indexing words"  # sentences
EMBEDDING_WORDS = "Embedding words"  # words
CLUSTERING_WORDS = "Clustering words"  # k-means iterations
INDEX_REPORT_EVERY = 10_000  # sentences between two indexing events
KMEANS_ITERATIONS = 30  # at most; SMLMT needs coherent word groups, not an exact optimum


@dataclass
class Episode:
    """One few-shot task: N classes, k support and q query examples per class."""

    support: list[Text]
    support_labels: list[int]  # in [0, N)
    query: list[Text]
    query_labels: list[int]
    source: str  # dataset name, "smlmt" or "smlmt-cluster"

    @property
    def num_classes(self) -> int:
        return max(self.support_labels) + 1


@dataclass(frozen=True)
class EpisodeShape:
    """How big episodes are; N and k are drawn per episode so shapes vary like users' tasks."""

    n_way: tuple[int, int] = (2, 5)  # inclusive range
    k_shot: tuple[int, int] = (4, 16)  # inclusive range
    query: int = 4  # per class

    def __post_init__(self):
        if not 2 <= self.n_way[0] <= self.n_way[1]:
            raise ValueError(
                f"`n_way` must be a range (lo, hi) with 2 <= lo <= hi, got {self.n_way}."
            )
        if not 1 <= self.k_shot[0] <= self.k_shot[1]:
            raise ValueError(
                f"`k_shot` must be a range (lo, hi) with 1 <= lo <= hi, got {self.k_shot}."
            )
        if self.query < 1:
            raise ValueError(f"`query` must be at least 1, got {self.query}.")

    def draw(self, rng: random.Random) -> tuple[int, int]:
        return rng.randint(*self.n_way), rng.randint(*self.k_shot)


def split_examples(
    per_class: list[list[Text]], k: int, rng: random.Random, source: str, query: int
) -> Episode:
    """Shuffle k + query examples of each class into support and query sets."""
    episode = Episode([], [], [], [], source)
    for label, examples in enumerate(per_class):
        chosen = rng.sample(examples, k + query)
        episode.support += chosen[:k]
        episode.support_labels += [label] * k
        episode.query += chosen[k:]
        episode.query_labels += [label] * query
    return episode


# ---- supervised tasks -------------------------------------------------------------------
@dataclass
class LabeledDataset:
    name: str
    examples_by_label: dict[str, list[Text]]

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.examples_by_label.values())


def read_task_folder(folder: Path, split: str = "train") -> LabeledDataset:
    """A `<task>/<split>.jsonl` file of {"text", optional "text_b", "label"} lines."""
    path = folder / f"{split}.jsonl"
    by_label: dict[str, list[Text]] = defaultdict(list)
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                text = (row["text"], row["text_b"]) if row.get("text_b") else row["text"]
                by_label[str(row["label"])].append(text)
            except (json.JSONDecodeError, KeyError) as error:
                raise ValueError(
                    f"`{path}` line {number}: expected JSON with text and label ({error})."
                ) from error
    return LabeledDataset(folder.name, dict(by_label))


def find_task_folders(roots: list[Path], split: str = "train") -> list[Path]:
    """Task folders under each root (or the root itself when it is one)."""
    folders = []
    for root in map(Path, roots):
        if (root / f"{split}.jsonl").is_file():
            folders.append(root)
        else:
            folders += sorted(p.parent for p in root.glob(f"*/{split}.jsonl"))
    return folders


def without_families(roots: list[Path], families: list[str]) -> list[Path]:
    """The task folders under `roots` whose family is none of `families`: a leave-family-out
    run meta-trains without them and is then measured on that family's dev tasks."""
    folders = find_task_folders(roots)
    present = {family_of(folder.name) for folder in folders}
    unknown = sorted(set(families) - present)
    if unknown:
        raise ValueError(
            f"No task of family {', '.join(map(repr, unknown))} to leave out; the families "
            f"present: {', '.join(sorted(present))}."
        )
    return [folder for folder in folders if family_of(folder.name) not in families]


class TaskSampling(Enum):
    """How often each supervised dataset is drawn."""

    SQRT_SIZE = "sqrt-size"  # proportional to sqrt(size): big datasets (and families) dominate
    FAMILY = "family"  # every family equally often; sqrt(size) within a family


def dataset_weights(datasets: list[LabeledDataset], sampling: TaskSampling) -> list[float]:
    weights = [math.sqrt(d.size) for d in datasets]
    if sampling is TaskSampling.SQRT_SIZE:
        return weights
    family_total: dict[str, float] = defaultdict(float)
    for dataset, weight in zip(datasets, weights):
        family_total[family_of(dataset.name)] += weight
    return [w / family_total[family_of(d.name)] for d, w in zip(datasets, weights)]


class SupervisedSampler:
    """Pick a dataset (by `sampling`), then N labels, then k + q examples of each."""

    def __init__(
        self,
        datasets: list[LabeledDataset],
        shape: EpisodeShape,
        sampling: TaskSampling = TaskSampling.SQRT_SIZE,
    ):
        usable = [d for d in datasets if len(d.examples_by_label) >= 2]
        if not usable:
            raise ValueError("No task with at least two labels was found among the task folders.")
        self.datasets, self.shape = usable, shape
        self.weights = dataset_weights(usable, sampling)

    def sample(self, rng: random.Random) -> Episode:
        dataset = rng.choices(self.datasets, weights=self.weights)[0]
        n, k = self.shape.draw(rng)
        need = k + self.shape.query
        labels = [lab for lab, ex in dataset.examples_by_label.items() if len(ex) >= need]
        while len(labels) < 2 and k > 1:  # small datasets: shrink k rather than fail
            k -= 1
            need = k + self.shape.query
            labels = [lab for lab, ex in dataset.examples_by_label.items() if len(ex) >= need]
        chosen = rng.sample(sorted(labels), min(n, len(labels)))
        per_class = [dataset.examples_by_label[label] for label in chosen]
        return split_examples(per_class, k, rng, dataset.name, self.shape.query)


# ---- SMLMT ------------------------------------------------------------------------------
@dataclass
class WordIndex:
    """Which sentences contain which word: words[i] occurs in sentences[offsets[i]:offsets[i+1]]."""

    sentences: list[str]
    words: list[str]
    offsets: np.ndarray  # (W + 1,) int64
    sentence_ids: np.ndarray  # (total,) int32

    def sentences_with(self, word_id: int) -> np.ndarray:
        return self.sentence_ids[self.offsets[word_id] : self.offsets[word_id + 1]]


def read_sentences(
    paths: list[Path], max_chars: int = 400, *, progress: ProgressCallback | None = None
) -> list[str]:
    """Lines longer than 20 characters of every .txt file; one event per file read."""
    files = [
        p
        for root in map(Path, paths)
        for p in (sorted(root.glob("*.txt")) if root.is_dir() else [root])
    ]
    if not files:
        raise ValueError(f"No .txt files found in {', '.join(map(str, paths))} for SMLMT tasks.")
    sentences = []
    for number, path in enumerate(files, 1):
        with path.open(encoding="utf-8", errors="replace") as lines:
            sentences += [line.strip()[:max_chars] for line in lines if len(line.strip()) > 20]
        if progress is not None:
            progress(ProgressEvent(READING_TEXT, number, len(files)))
    return sentences


def build_word_index(
    sentences: list[str],
    *,
    min_count: int = 30,
    max_count: int = 5000,
    max_words: int = 20000,
    progress: ProgressCallback | None = None,
) -> WordIndex:
    """Index mid-frequency content words (too rare: no k+q sentences; too common: no topic)."""
    postings: dict[str, list[int]] = defaultdict(list)
    for sentence_id, sentence in enumerate(sentences):
        for word in set(WORD.findall(sentence.lower())):
            if word not in STOPWORDS:
                postings[word].append(sentence_id)
        done = sentence_id + 1
        if progress is not None and (done % INDEX_REPORT_EVERY == 0 or done == len(sentences)):
            progress(ProgressEvent(INDEXING_WORDS, done, len(sentences)))
    kept = sorted(
        (w for w, ids in postings.items() if min_count <= len(ids) <= max_count),
        key=lambda w: (-len(postings[w]), w),
    )[:max_words]
    kept.sort()
    lengths = np.array([len(postings[w]) for w in kept], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.concatenate([np.asarray(postings[w], dtype=np.int32) for w in kept])
    return WordIndex(sentences, kept, offsets, ids)


def load_word_index(
    paths: list[Path], cache_dir: Path, *, progress: ProgressCallback | None = None
) -> WordIndex:
    """Build the index once per set of files (keyed by names, sizes, mtimes); reuse it after."""
    files = sorted(
        p for root in map(Path, paths) for p in (root.glob("*.txt") if root.is_dir() else [root])
    )
    key = hashlib.sha256(
        json.dumps(
            [[str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for p in files]
        ).encode()
    ).hexdigest()[:16]
    cache = cache_dir / f"word-index-{key}.npz"
    sentences = read_sentences(files, progress=progress)
    if cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        return WordIndex(
            sentences, stored["words"].tolist(), stored["offsets"], stored["sentence_ids"]
        )
    index = build_word_index(sentences, progress=progress)
    # Atomic: a reader (another torchrun rank, a second run) sees no cache or the whole one.
    with atomic_path(cache) as temp, temp.open("wb") as file:  # a file: savez adds .npz to a name
        np.savez(
            file,
            words=np.array(index.words),
            offsets=index.offsets,
            sentence_ids=index.sentence_ids,
        )
    return index


def mask_word(sentence: str, words: set[str], mask_token: str) -> str:
    """Replace every whole-word, case-insensitive occurrence of any of `words` by the mask."""
    pattern = r"\b(" + "|".join(sorted(map(re.escape, words))) + r")\b"
    return re.sub(pattern, mask_token, sentence, flags=re.IGNORECASE)


class SmlmtSampler:
    """Subset-masked LM tasks: label = which masked word (or word cluster) a sentence had."""

    def __init__(
        self,
        index: WordIndex,
        shape: EpisodeShape,
        mask_token: str,
        clusters: list[list[int]] | None = None,
    ):
        self.index, self.shape, self.mask_token = index, shape, mask_token
        self.clusters = clusters  # lists of word ids; None for plain (lexical) SMLMT

    def sample(self, rng: random.Random, attempts: int = 100) -> Episode:
        """A fresh draw of words when one lacks clean sentences; `attempts` bounds the retries."""
        for _ in range(attempts):
            n, k = self.shape.draw(rng)
            per_class = self.try_classes(rng, n, k + self.shape.query)
            if per_class is not None:
                source = "smlmt-cluster" if self.clusters else "smlmt"
                return split_examples(per_class, k, rng, source, self.shape.query)
        kind = "word-cluster SMLMT" if self.clusters else "SMLMT"
        raise ValueError(
            f"The unlabeled text cannot make {kind} episodes of shape N={self.shape.n_way}, "
            f"k={self.shape.k_shot}, query={self.shape.query}: {attempts} draws in a row found "
            "too few sentences for their words. Give more text or ask for smaller episodes."
        )

    def try_classes(self, rng: random.Random, n: int, need: int) -> list[list[str]] | None:
        """`need` masked sentences for each of n drawn words (or clusters); None if too few."""
        groups = self.clusters or [[w] for w in range(len(self.index.words))]
        if n > len(groups):
            return None
        chosen = [groups[g] for g in rng.sample(range(len(groups)), n)]
        all_words = {self.index.words[w] for group in chosen for w in group}
        per_class = []
        for group in chosen:
            words = {self.index.words[w] for w in group}
            ids = np.unique(np.concatenate([self.index.sentences_with(w) for w in group]))
            examples = []
            for sentence_id in rng.sample(ids.tolist(), min(len(ids), need * 3)):
                sentence = self.index.sentences[sentence_id]
                present = set(WORD.findall(sentence.lower())) & all_words
                if present and present <= words:  # no other class's word: labels stay clean
                    examples.append(mask_word(sentence, present, self.mask_token))
                if len(examples) == need:
                    break
            if len(examples) < need:
                return None
            per_class.append(examples)
        return per_class


def cluster_words(
    embeddings: np.ndarray,
    num_clusters: int,
    seed: int,
    *,
    iterations: int = KMEANS_ITERATIONS,
    progress: ProgressCallback | None = None,
) -> list[list[int]]:
    """k-means over word embeddings (rows); clusters with fewer than 2 words are dropped.

    k-means++ seeding, then Lloyd steps until no word changes cluster, written out rather
    than sklearn's KMeans: each iteration can be reported, and sklearn's took minutes on a
    busy CPU for 20,000 words (its threads compete with torch's).
    """
    if num_clusters > len(embeddings):
        raise ValueError(
            f"`num_clusters`={num_clusters} is more than the {len(embeddings)} words to cluster; "
            "ask for fewer clusters (--clusters) or give more unlabeled text."
        )
    if progress is not None:  # the seeding takes seconds too: say at once what is going on
        progress(ProgressEvent(CLUSTERING_WORDS, 0, iterations))
    centers = kmeans_plusplus(embeddings, num_clusters, np.random.default_rng(seed))  # (K, D)
    labels = nearest_center(embeddings, centers)  # (W,)
    for iteration in range(1, iterations + 1):
        counts = np.bincount(labels, minlength=num_clusters)  # (K,)
        sums = np.zeros_like(centers)
        np.add.at(sums, labels, embeddings)
        means = sums / np.maximum(counts, 1)[:, None].astype(sums.dtype)  # float32 stays float32
        centers = np.where(counts[:, None] > 0, means, centers)  # an empty cluster keeps its center
        moved = nearest_center(embeddings, centers)
        if progress is not None:
            progress(ProgressEvent(CLUSTERING_WORDS, iteration, iterations))
        if np.array_equal(moved, labels):
            break
        labels = moved
    clusters = [np.flatnonzero(labels == c).tolist() for c in range(num_clusters)]
    return [c for c in clusters if len(c) >= 2]


def kmeans_plusplus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k initial centers, (k, D): each next one drawn with probability proportional to the
    squared distance to the closest center chosen so far (Arthur and Vassilvitskii, 2007)."""
    norms = (points.astype(np.float64) ** 2).sum(1)  # (W,)
    chosen = [int(rng.integers(len(points)))]
    closest = np.maximum(norms - 2 * points @ points[chosen[0]] + norms[chosen[0]], 0)  # (W,)
    for _ in range(1, k):
        total = closest.sum()
        index = int(rng.choice(len(points), p=closest / total if total > 0 else None))
        chosen.append(index)
        distance = np.maximum(norms - 2 * points @ points[index] + norms[index], 0)
        closest = np.minimum(closest, distance)
    return points[chosen].copy()


def nearest_center(points: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """Index of the closest center of each point, (W,): argmin |c|^2 - 2 x.c (|x|^2 is common)."""
    return ((centers**2).sum(1) - 2 * points @ centers.T).argmin(1)


class MixedSampler:
    """Supervised tasks with probability lambda, SMLMT tasks otherwise."""

    def __init__(self, supervised: SupervisedSampler | None, smlmt: list[SmlmtSampler], lam: float):
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"`lambda` must be in [0, 1], got {lam}.")
        if supervised is None and lam > 0 or not smlmt and lam < 1:
            missing = "task folders" if supervised is None else "unlabeled text"
            raise ValueError(
                f"`lambda`={lam} needs {missing}: give them, or set lambda to 0 (only unlabeled "
                "text) or 1 (only task folders)."
            )
        self.supervised, self.smlmt, self.lam = supervised, smlmt, lam

    def sample(self, rng: random.Random) -> Episode:
        if rng.random() < self.lam:
            return self.supervised.sample(rng)
        return rng.choice(self.smlmt).sample(rng)


# ---- assembling a sampler from folders --------------------------------------------------
def word_embeddings(
    backbone, words: list[str], batch_size: int = 512, *, progress: ProgressCallback | None = None
) -> np.ndarray:
    """Pooled frozen-encoder embedding of each word on its own, (W, D); an event per batch."""
    import torch

    from engine.backbone import encode_texts, pool

    rows = []
    with torch.inference_mode():
        for start in range(0, len(words), batch_size):
            inputs = encode_texts(backbone, words[start : start + batch_size], 16)
            hidden = backbone.model(**inputs).last_hidden_state
            rows.append(
                pool(hidden, inputs["attention_mask"], backbone.pooling).float().cpu().numpy()
            )
            if progress is not None:
                done = min(start + batch_size, len(words))
                progress(ProgressEvent(EMBEDDING_WORDS, done, len(words)))
    return np.concatenate(rows)


def load_word_clusters(
    backbone,
    index: WordIndex,
    num_clusters: int,
    cache_dir: Path,
    seed: int,
    *,
    progress: ProgressCallback | None = None,
) -> list[list[int]]:
    """k-means clusters of the index's words, cached per (words, backbone, k, seed)."""
    key = hashlib.sha256(
        json.dumps([index.words, backbone.fingerprint, num_clusters, seed]).encode()
    ).hexdigest()[:16]
    cache = cache_dir / f"word-clusters-{key}.json"
    if cache.is_file():
        return json.loads(cache.read_text())
    embeddings = word_embeddings(backbone, index.words, progress=progress)
    clusters = cluster_words(embeddings, num_clusters, seed, progress=progress)
    atomic_write_text(cache, json.dumps(clusters))
    return clusters


def build_sampler(
    backbone,
    *,
    task_dirs: list[Path],
    unlabeled: list[Path],
    shape: EpisodeShape,
    lam: float,
    cache_dir: Path,
    num_clusters: int = 300,
    seed: int = 0,
    sampling: TaskSampling = TaskSampling.SQRT_SIZE,
    progress: ProgressCallback | None = None,
) -> tuple[MixedSampler, dict]:
    """The task mixture of DESIGN.md and a summary of the data it draws from.

    `task_dirs` may name task folders (with train.jsonl) or folders of them. Reading the
    data can take minutes, so `progress` gets an event per stage step (LOADING_TASKS...).
    """
    folders = find_task_folders(task_dirs) if task_dirs else []
    if task_dirs and not folders:
        raise ValueError(
            f"No task folders with train.jsonl under {', '.join(map(str, task_dirs))}."
        )
    datasets = []
    for number, folder in enumerate(folders, 1):
        datasets.append(read_task_folder(folder))
        if progress is not None:
            progress(ProgressEvent(LOADING_TASKS, number, len(folders)))
    supervised = SupervisedSampler(datasets, shape, sampling) if datasets else None
    smlmt, summary = [], {"tasks": {d.name: d.size for d in datasets}, "sampling": sampling.value}
    if unlabeled:
        index = load_word_index(unlabeled, cache_dir, progress=progress)
        clusters = load_word_clusters(
            backbone, index, num_clusters, cache_dir, seed, progress=progress
        )
        mask = backbone.tokenizer.mask_token
        smlmt = [SmlmtSampler(index, shape, mask), SmlmtSampler(index, shape, mask, clusters)]
        summary["unlabeled"] = {
            "files": sorted(
                p.name
                for root in map(Path, unlabeled)
                for p in (root.glob("*.txt") if root.is_dir() else [root])
            ),
            "sentences": len(index.sentences),
            "words": len(index.words),
            "clusters": len(clusters),
        }
    summary["lambda"] = lam
    return MixedSampler(supervised, smlmt, lam), summary


def validation_episodes(
    task_dirs: list[Path], shape: EpisodeShape, count: int, seed: int
) -> list[Episode]:
    """Fixed episodes from the tasks' validation.jsonl files (none if there are none)."""
    folders = find_task_folders(task_dirs, split="validation") if task_dirs else []
    datasets = [read_task_folder(folder, "validation") for folder in folders]
    datasets = [d for d in datasets if len(d.examples_by_label) >= 2]
    if not datasets:
        return []
    sampler = SupervisedSampler(datasets, shape)
    rng = random.Random(f"{seed}-validation")
    return [sampler.sample(rng) for _ in range(count)]
