"""Write the bundle for second-order meta-training on the lent GPU (README.md in this folder,
"Meta-training on the GPU"): a seeded subsample of the meta-training data and the embedded
MiniLM, every weight exact (float32), of the word-embedding matrix only the rows that data can
look up.

    PYTHONPATH=. python docs/results/device-run/carry_metatrain.py [--rows 5000]
    PYTHONPATH=. python docs/results/device-run/carry_metatrain.py --all-rows      (two calls)

What travels to the device in one call, the working tree included (16 MiB of tracked files
now), is at most 64 MiB; the weights other than the word embeddings take 35 MiB after xz, and
each embedding row 1.2 kB more. A plain subsample of a few thousand rows per dataset looks up
26,000 of the 30,522 rows, which does not fit. So by default (one call) the data are chosen
for a vocabulary of --rows wordpieces: tokens are dropped, a few at a time, where dropping
them loses the fewest texts, weighted so that every task family and the unlabeled text keep
theirs (choose_vocabulary), and only the texts that then look up nothing else are kept:
short texts of common words, few of the long-text datasets (dbpedia14, imdb, anli). Unlabeled
lines are kept only when all ASCII (masking a word then changes no other token) and are cut at
a word boundary to the first max_length - 2 wordpieces (as much as the model sees of them).
--all-rows carries every row (the rebuilt model is the real one, bit for bit) and a plain
subsample; it takes two calls: the first one brings `.devrun-meta-a/` (part of the weights).

Everything written is checked here before it is trusted: the ids of every text as the engine
reads the written files back, a few thousand sampled episodes, and the backbone rebuilt from
the bundle as the device does it, whose pooled features must equal the real model's bit for
bit (devmeta.py check repeats that on the device against features recorded here).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from carry_backbone import write_backbone  # noqa: E402
from devbench import rebuild  # noqa: E402
from devmeta import features  # noqa: E402

from engine.backbone import default_backbone_dir, load_backbone  # noqa: E402
from engine.families import family_of  # noqa: E402
from engine.tasks import (  # noqa: E402
    EpisodeShape,
    SmlmtSampler,
    SupervisedSampler,
    build_word_index,
    find_task_folders,
    read_sentences,
    read_task_folder,
)

MiB = 1 << 20
CALL_LIMIT = 64 * MiB  # what one device call carries, the working tree included
SHAPE = EpisodeShape((2, 10), (2, 16), 4)  # the widest episodes of the recipe in the README
KEPT = "kept-files.tar.xz"  # the model folder's small files (tokenizer, configs)
PLANES = "planes.safetensors.xz"  # as carry_backbone.write_backbone names it
PART_A = "planes.part-a"  # --all-rows: the first bytes of planes.safetensors.xz


@dataclass
class Source:
    """A file's texts as the engine reads them, the lines they come from, their token ids."""

    name: str  # "<task>/train", "<task>/validation" or "unlabeled/<file>"
    weight: float  # its share of meta-training (choose_vocabulary)
    quota: int  # texts it should keep before others lose theirs
    lines: list[str]
    texts: list = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)


def looked_up(tokenizer, texts: list, max_length: int | None) -> list[np.ndarray]:
    """The ids each text (or pair) looks up when encoded to max_length tokens (None: whole)."""
    out: list = [None] * len(texts)
    for is_pair in (False, True):
        index = [i for i, t in enumerate(texts) if isinstance(t, tuple) == is_pair]
        if not index:
            continue
        first = [texts[i][0] if is_pair else texts[i] for i in index]
        second = [texts[i][1] for i in index] if is_pair else None
        cut = {"truncation": True, "max_length": max_length} if max_length else {}
        for i, ids in zip(index, tokenizer(first, second, **cut)["input_ids"]):
            out[i] = np.unique(ids)
    return out


def parse(line: str):
    row = json.loads(line)  # as engine.tasks.read_task_folder reads it
    return (row["text"], row["text_b"]) if row.get("text_b") else row["text"]


def cut_to(sentence: str, tokenizer, max_tokens: int) -> str:
    """The sentence up to the last space before its wordpiece max_tokens: its first words,
    which tokenize to the first (at most max_tokens) wordpieces of the whole."""
    encoded = tokenizer(sentence, add_special_tokens=False, return_offsets_mapping=True)
    if len(encoded["input_ids"]) <= max_tokens:
        return sentence
    end = sentence.rfind(" ", 0, encoded["offset_mapping"][max_tokens][0] + 1)
    return sentence[:end].rstrip() if end > 0 else ""


def read_sources(args, tokenizer) -> list[Source]:
    tasks = find_task_folders([args.meta_train])
    families = defaultdict(list)
    for folder in tasks:
        families[family_of(folder.name)].append(folder.name)
    sources = []
    for folder in tasks:  # every family an equal share of lambda, as --task-sampling family
        weight = args.lam / len(families) / len(families[family_of(folder.name)])
        for split, share, quota in (("train", 1.0, 500), ("validation", 0.1, 100)):
            path = folder / f"{split}.jsonl"
            if path.is_file():
                lines = path.read_text(encoding="utf-8").splitlines()
                source = Source(f"{folder.name}/{split}", weight * share, quota, lines)
                source.texts = [parse(line) for line in source.lines]
                sources.append(source)
    files = sorted(Path(args.unlabeled).glob("*.txt"))
    for path in files:
        sentences = read_sentences([path])
        if not args.all_rows:
            printable = [s for s in sentences if all(32 <= ord(c) < 127 for c in s)]
            sentences = [cut_to(s, tokenizer, args.max_length - 2) for s in printable]
            sentences = [s for s in sentences if len(s) > 20]
        source = Source(f"unlabeled/{path.name}", (1 - args.lam) / len(files), 10_000, sentences)
        source.texts = sentences
        sources.append(source)
    for source in sources:
        whole = source.name.startswith("unlabeled/")  # masking a word frees room for more
        source.ids = looked_up(tokenizer, source.texts, None if whole else args.max_length)
    return sources


def choose_vocabulary(sources: list[Source], vocab: int, budget: int, keep: list[int]):
    """A set of `budget` token ids (bool mask) that as many texts as possible look up only.

    Greedy: drop, a few at a time, the tokens that would cost the least, where a text costs
    its source's weight / max(texts of it still whole, its quota): a source losing texts
    costs little while it has many more than its quota, and more as it nears it.
    """
    import scipy.sparse as sparse

    ids = [i for s in sources for i in s.ids]
    owner = np.repeat(np.arange(len(sources)), [len(s.ids) for s in sources])
    indptr = np.concatenate([[0], np.cumsum([len(i) for i in ids])])
    texts = sparse.csr_matrix(
        (np.ones(indptr[-1], np.float32), np.concatenate(ids), indptr), shape=(len(ids), vocab)
    )
    by_token = texts.T.tocsr()
    weight = np.array([s.weight for s in sources])
    quota = np.array([s.quota for s in sources])
    whole = np.ones(len(ids), bool)
    chosen = np.asarray(texts.sum(0)).ravel() > 0
    chosen[keep] = True
    while chosen.sum() > budget:
        counts = np.bincount(owner[whole], minlength=len(sources))
        cost = by_token @ np.where(whole, (weight / np.maximum(counts, quota))[owner], 0)
        cost[~chosen] = np.inf
        cost[keep] = np.inf
        step = min(max(25, (int(chosen.sum()) - budget) // 20), int(chosen.sum()) - budget)
        drop = np.argpartition(cost, step - 1)[:step]
        chosen[drop] = False
        whole &= ~(np.asarray(texts[:, drop].sum(1)).ravel() > 0)
    return chosen


def subsample(sources: list[Source], chosen, args) -> dict[str, list[str]]:
    """Seeded: per task file up to --train-rows / --val-rows lines, --lines unlabeled in all,
    of those that look up only `chosen` rows; in file order. A task file keeps none unless two
    labels keep k + q examples for the largest k (engine.tasks.SupervisedSampler)."""
    rng = random.Random(args.seed)
    need = SHAPE.k_shot[1] + SHAPE.query
    files, pool = {}, []
    for source in sources:
        ok = [i for i, ids in enumerate(source.ids) if chosen is None or chosen[ids].all()]
        if source.name.startswith("unlabeled/"):
            pool += [(source.name, i) for i in ok]
            files[source.name] = []
            continue
        cap = args.train_rows if source.name.endswith("/train") else args.val_rows
        picked = sorted(rng.sample(ok, min(cap, len(ok))))
        labels = Counter(str(json.loads(source.lines[i])["label"]) for i in picked)
        enough = sum(count >= need for count in labels.values()) >= 2
        files[source.name + ".jsonl"] = [source.lines[i] for i in picked] if enough else []
    for name in list(files):  # no validation file for a task left out of training
        if name.endswith("/validation.jsonl"):
            train = name.replace("/validation.jsonl", "/train.jsonl")
            files[name] = files[name] if files.get(train) else []
    lines = {s.name: s.lines for s in sources}
    for name, i in sorted(rng.sample(pool, min(args.lines, len(pool)))):
        files[name].append(lines[name][i])
    return files


def write_data(files: dict[str, list[str]], root: Path) -> None:
    for name, lines in files.items():
        if not lines:
            continue
        path = root / ("meta_train/" + name if not name.startswith("unlabeled/") else name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def bundle_ids(root: Path, tokenizer, max_length: int):
    """Every id meta-training on the data under root can look up, read back as the engine reads
    them: task texts to max_length, unlabeled lines whole, each indexed word on its own."""
    ids = set(tokenizer.all_special_ids)
    tasks = [read_task_folder(f, s) for s in ("train", "validation")
             for f in find_task_folders([root / "meta_train"], s)]  # fmt: skip
    texts = [t for d in tasks for examples in d.examples_by_label.values() for t in examples]
    sentences = read_sentences([root / "unlabeled"])
    index = build_word_index(sentences)
    for group, length in ((texts, max_length), (sentences, None), (index.words, 16)):
        for row in looked_up(tokenizer, group, length):
            ids.update(row.tolist())
    return sorted(ids), tasks, index


def check_episodes(tasks, index, tokenizer, carried: set, max_length: int, count: int) -> str:
    """Draw episodes as meta-training does and check that they look up carried rows only."""
    rng = random.Random(1)
    words = list(range(len(index.words)))
    rng.shuffle(words)
    clusters = [words[i : i + 8] for i in range(0, len(words), 8)]  # masks of several words
    samplers = [SmlmtSampler(index, SHAPE, tokenizer.mask_token),
                SmlmtSampler(index, SHAPE, tokenizer.mask_token, clusters)]  # fmt: skip
    samplers.append(SupervisedSampler(tasks, SHAPE))
    looked = set()
    for number in range(count):
        episode = samplers[number % len(samplers)].sample(rng)
        if episode.num_classes < 2:
            raise SystemExit(f"A sampled {episode.source} episode has fewer than two classes.")
        for row in looked_up(tokenizer, episode.support + episode.query, max_length):
            looked.update(row.tolist())
    missing = looked - carried
    if missing:
        raise SystemExit(f"{len(missing)} ids looked up by sampled episodes are not carried.")
    return f"{count} sampled episodes looked up {len(looked)} ids, all carried"


def check_rebuilt(out: Path, backbone_dir: Path, real, texts: list, max_length: int) -> str:
    """Rebuild the model from the bundle as the device does; its pooled features on `texts`
    must equal the real model's bit for bit, and every weight but missing rows must match."""
    import torch

    with tempfile.TemporaryDirectory() as temp:
        model_dir = Path(temp)
        with tarfile.open(backbone_dir / KEPT) as kept:
            kept.extractall(model_dir, filter="data")
        planes = model_dir / "planes.safetensors.xz"
        with open(planes, "wb") as sink:
            for part in [out.parent / f"{out.name}-a" / PART_A, backbone_dir / PLANES]:
                if part.is_file():
                    sink.write(part.read_bytes())
        rebuild(str(planes), str(backbone_dir / "carried.json"), str(model_dir))
        planes.unlink()
        rebuilt = load_backbone(str(model_dir), device="cpu", attn_implementation="eager")
        ids = np.load(model_dir / "carried_ids.npy")
        real_state, state = real.model.state_dict(), rebuilt.model.state_dict()
        for name, tensor in real_state.items():
            if name.endswith("word_embeddings.weight"):
                tensor, other = tensor[ids], state[name][ids]
            else:
                other = state[name]
            if not torch.equal(tensor, other):
                raise SystemExit(f"The rebuilt backbone's {name} differs from the real one's.")
        singles = [t for t in texts if not isinstance(t, tuple)]
        pairs = [t for t in texts if isinstance(t, tuple)]
        mine = features(rebuilt, singles, pairs, max_length)
        theirs = features(real, singles, pairs, max_length)
        if not all(torch.equal(a, b) for a, b in zip(mine, theirs)):
            raise SystemExit("The rebuilt backbone's pooled features differ from the real one's.")
        same = rebuilt.fingerprint == real.fingerprint
    return (f"rebuilt backbone: every weight read equal, pooled features of {len(singles)} texts "
            f"and {len(pairs)} pairs bit for bit equal; own fingerprint "
            f"{'equal to' if same else 'not'} the real one's")  # fmt: skip


def write_check(out: Path, real, tasks, max_length: int, seed: int) -> list:
    """check.json: 48 texts and 16 pairs of the bundle's training data; check.safetensors:
    their pooled features from the real model (CPU, eager attention) for devmeta.py check."""
    from safetensors.torch import save_file

    rng = random.Random(seed)
    texts = [t for d in tasks for examples in d.examples_by_label.values() for t in examples]
    singles = rng.sample([t for t in texts if not isinstance(t, tuple)], 48)
    pairs = rng.sample([t for t in texts if isinstance(t, tuple)], 16)
    spec = {"max_length": max_length, "singles": singles, "pairs": pairs}
    (out / "check.json").write_text(json.dumps(spec))
    singles_f, pairs_f = features(real, singles, pairs, max_length)
    save_file({"singles": singles_f, "pairs": pairs_f}, str(out / "check.safetensors"))
    return singles + pairs


def get_wheels(out: Path) -> None:
    """platformdirs: the one runtime import of `fewshot metatrain` the device lacks."""
    version = metadata.version("platformdirs")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "-d", str(out / "wheels"), f"platformdirs=={version}"],
        check=True,
    )  # fmt: skip


def travelling_bytes(outside: list[Path]) -> int:
    """Bytes of the working tree that travel with every call (tracked and untracked files that
    git does not ignore), not counting `outside`."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"], capture_output=True, check=True
        )
        .stdout.decode()
        .split("\0")
    )
    paths = [Path(p).resolve() for p in listed if p]
    skip = [o.resolve() for o in outside]
    return sum(
        p.stat().st_size
        for p in paths
        if p.is_file() and not any(p.is_relative_to(s) for s in skip)
    )


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def report_sizes(out: Path, parts: list[Path]) -> None:
    tree = travelling_bytes(parts)
    for part in parts:
        for path in sorted(part.rglob("*")):
            if path.is_file():
                print(f"  {path.stat().st_size / MiB:8.2f} MiB  {path}")
    for number, part in enumerate(reversed(parts), 1):  # `-a` (if any) goes in the first call
        size = folder_bytes(part)
        ignored = subprocess.run(["git", "check-ignore", "-q", str(part)]).returncode == 0
        total = tree + size
        print(f"call {number}: {part} {size / MiB:.2f} MiB + working tree {tree / MiB:.2f} MiB = "
              f"{total / MiB:.2f} MiB of {CALL_LIMIT / MiB:.0f}"
              + ("" if ignored else f"; {part} is NOT ignored by git: add `/{part.name}/` to "
                 ".git/info/exclude before the call, or it travels (and may be committed) "
                 "as an untracked file"))  # fmt: skip
        if total > CALL_LIMIT:
            print(f"call {number} is {(total - CALL_LIMIT) / MiB:.2f} MiB over the limit: "
                  "ask for fewer --rows or less data")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(".devrun-meta"))
    parser.add_argument("--meta-train", type=Path, default=Path("../shared/data/meta_train"))
    parser.add_argument("--unlabeled", type=Path, default=Path("../shared/data/unlabeled"))
    parser.add_argument("--rows", type=int, default=5000, help="word-embedding rows carried")
    parser.add_argument("--all-rows", action="store_true", help="all rows, in two calls")
    parser.add_argument("--train-rows", type=int, default=3000, help="per train.jsonl at most")
    parser.add_argument("--val-rows", type=int, default=500, help="per validation.jsonl at most")
    parser.add_argument("--lines", type=int, default=60_000, help="unlabeled lines at most")
    parser.add_argument("--max-length", type=int, default=64, help="longest --max-length to run")
    parser.add_argument("--lam", type=float, default=0.35, help="the recipe's --lambda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--episodes", type=int, default=3000, help="sampled for the id check")
    parser.add_argument("--part-a-mib", type=float, default=40.0, help="--all-rows: first call")
    args = parser.parse_args()
    out, part_a = args.out, args.out.parent / f"{args.out.name}-a"
    for folder in (out, part_a):
        shutil.rmtree(folder, ignore_errors=True)
    out.mkdir(parents=True)
    real = load_backbone(str(default_backbone_dir()), device="cpu", attn_implementation="eager")
    tokenizer, vocab = real.tokenizer, real.model.config.vocab_size

    print("reading and tokenizing the data ...", flush=True)
    sources = read_sources(args, tokenizer)
    keep = sorted(set(tokenizer.all_special_ids))
    chosen = None if args.all_rows else choose_vocabulary(sources, vocab, args.rows, keep)
    files = subsample(sources, chosen, args)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        write_data(files, root)
        ids, tasks, index = bundle_ids(root, tokenizer, args.max_length)
        if args.all_rows:
            ids = list(range(vocab))
        elif not set(ids) <= set(np.flatnonzero(chosen).tolist()) | set(keep):
            raise SystemExit("The data read back look up rows outside the chosen vocabulary.")
        print(check_episodes(tasks, index, tokenizer, set(ids), args.max_length, args.episodes))
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:xz") as tar:
            for name in ("meta_train", "unlabeled"):
                tar.add(root / name, arcname=name)
        (out / "data.tar.xz").write_bytes(buffer.getvalue())
    for source in sources:
        name = source.name + ("" if source.name.startswith("unlabeled/") else ".jsonl")
        print(f"  {source.name}: {len(files[name])} of {len(source.lines)} kept")
    print(f"{len(index.words)} words indexed for SMLMT in {len(index.sentences)} lines")

    print(f"writing the backbone with {len(ids)} of {vocab} embedding rows ...", flush=True)
    backbone_dir = out / "backbone"
    info = write_backbone(ids, backbone_dir, xz_threads=1)
    kept = sorted(p for p in backbone_dir.rglob("*") if p.is_file() and p.name not in
                  (PLANES, "carried.json"))  # fmt: skip
    with tarfile.open(backbone_dir / KEPT, "w:xz") as tar:
        for path in kept:
            tar.add(path, arcname=str(path.relative_to(backbone_dir)))
    for path in sorted(backbone_dir.iterdir()):
        if path.name not in (PLANES, "carried.json", KEPT):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    info.update(fingerprint=real.fingerprint, max_length=args.max_length,
                all_rows=args.all_rows, seed=args.seed)  # fmt: skip
    if args.all_rows:  # the first --part-a-mib go in the first call, the rest in the second
        planes = (backbone_dir / PLANES).read_bytes()
        split = min(len(planes), int(args.part_a_mib * MiB))
        part_a.mkdir()
        (part_a / PART_A).write_bytes(planes[:split])
        (backbone_dir / PLANES).write_bytes(planes[split:])
        info["parts"] = [hashlib.sha256(planes[:split]).hexdigest(),
                         hashlib.sha256(planes[split:]).hexdigest()]  # fmt: skip
    (backbone_dir / "carried.json").write_text(json.dumps(info))
    shipped = json.loads(Path("resources/meta/all-MiniLM-L6-v2/config.json").read_text())
    if shipped["backbone_fingerprint"] != real.fingerprint:
        print(f"warning: the shipped checkpoint was made for {shipped['backbone_fingerprint']}")
    texts = write_check(out, real, tasks, args.max_length, args.seed)
    get_wheels(out)
    rng = random.Random(2)
    every = [t for d in tasks for examples in d.examples_by_label.values() for t in examples]
    texts += rng.sample(every, min(len(every), 448))
    print(check_rebuilt(out, backbone_dir, real, texts, args.max_length))
    print(f"real backbone fingerprint {real.fingerprint}")
    report_sizes(out, [out] + ([part_a] if part_a.is_dir() else []))


if __name__ == "__main__":
    main()
