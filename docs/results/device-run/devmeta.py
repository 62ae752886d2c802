"""Device side of second-order meta-training on the lent GPU (README.md in this folder,
"Meta-training on the GPU"); run-metatrain-gpu.sh calls it, after `devbench.py rebuild`.

  devmeta.py check BUNDLE MODEL_DIR DEVICE       the rebuilt backbone's pooled features, checked
  devmeta.py metatrain BUNDLE MODEL_DIR ARGS...  `fewshot metatrain ARGS` on the rebuilt backbone
  devmeta.py summary RUN_DIR                     what a run folder holds, its files cross-checked

The rebuilt model holds the original weights, with zeros in the word-embedding rows that were
not carried (none, for a bundle made with --all-rows). A guard stops the run if one of those
rows is ever read, so the model takes the original's fingerprint (recorded in the bundle from
the real model): every weight the run reads is the original's, and the checkpoint it writes
loads against the real backbone. On a GPU the guard queues its check rather than wait for
each lookup, and settles it before every checkpoint write: no checkpoint written holds a step
that read a zero row. SIGINT (`timeout -s INT`) stops the run at the start of the next outer
step, so a checkpoint is never cut in the middle of its four files.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

import engine.backbone as backbone_module
from engine.backbone import DEFAULT_BACKBONE, encode_texts, load_backbone, pool

REAL_FINGERPRINT = backbone_module.fingerprint_model  # kept before install() replaces it
SETTLE_EVERY = 512  # queued GPU checks between two waits for their answers
CPU_TOLERANCE, GPU_TOLERANCE = 1e-5, 1e-4  # on pooled unit vectors; a zero row moves them ~0.1


def features(backbone, singles: list[str], pairs: list[tuple[str, str]], max_length: int):
    """Pooled features of the single texts and of the pairs, (n, D) each, as the engine encodes
    them (engine.backbone.encode_texts, pool)."""
    out = []
    with torch.inference_mode():
        for texts in (singles, pairs):
            inputs = encode_texts(backbone, texts, max_length)
            hidden = backbone.model(**inputs).last_hidden_state
            out.append(pool(hidden, inputs["attention_mask"], backbone.pooling).float().cpu())
    return out


class RowGuard:
    """Raises if a word-embedding row outside `carried` (bool, one per row) is looked up: on
    the CPU at once; on a GPU queued, and raised by settle() (every SETTLE_EVERY lookups, and
    before each checkpoint write)."""

    def __init__(self, carried: torch.Tensor):
        self.masks = {torch.device("cpu"): carried}
        if torch.cuda.is_available():  # made here, outside any inference_mode block
            self.masks[torch.device("cuda", torch.cuda.current_device())] = carried.cuda()
        self.pending: list[torch.Tensor] = []

    def __call__(self, ids: torch.Tensor) -> None:
        mask = self.masks.get(ids.device)
        if mask is None:
            mask = self.masks.setdefault(ids.device, self.masks[torch.device("cpu")].to(ids.device))
        inside = mask[ids].all()
        if ids.device.type == "cpu":
            if not bool(inside):
                raise RuntimeError(OUTSIDE)
        else:
            self.pending.append(inside)
            if len(self.pending) >= SETTLE_EVERY:
                self.settle()

    def settle(self) -> None:
        if self.pending:
            inside = bool(torch.stack(self.pending).all())
            self.pending.clear()
            if not inside:
                raise RuntimeError(OUTSIDE)


OUTSIDE = "A token outside the carried embedding rows was looked up: the bundle misses rows."


def install(bundle: str | Path, model_dir: str | Path) -> tuple[dict, RowGuard | None]:
    """Make DEFAULT_BACKBONE the rebuilt model with the real one's fingerprint, and guard its
    word-embedding lookups; returns the bundle's carried.json and the guard (None: all rows)."""
    info = json.loads((Path(bundle) / "backbone" / "carried.json").read_text())
    model_dir = Path(model_dir)
    vocab = info["shape"][0]
    carried = torch.zeros(vocab, dtype=torch.bool)
    carried[torch.from_numpy(np.load(model_dir / "carried_ids.npy"))] = True
    guard = None if bool(carried.all()) else RowGuard(carried)
    if guard is not None:
        lookup = torch.nn.Embedding.forward

        def guarded_lookup(self, ids):
            if self.num_embeddings == vocab:
                guard(ids)
            return lookup(self, ids)

        torch.nn.Embedding.forward = guarded_lookup
    backbone_module.default_backbone_dir = lambda: model_dir
    backbone_module.fingerprint_model = lambda model: info["fingerprint"]
    return info, guard


def real_backbone_dir() -> Path | None:
    """The embedded model folder where its package is installed (the build machine), else None
    (the device machine)."""
    try:
        return backbone_module.default_backbone_dir()
    except backbone_module.BackboneError:
        return None


def check(bundle: str, model_dir: str, device: str) -> None:
    """Fail loudly unless the rebuilt backbone gives the pooled features recorded from the real
    one on the bundle's check texts (within float noise of another machine; bit for bit where
    the real model is at hand, on this device)."""
    real_dir = real_backbone_dir()
    info, guard = install(bundle, model_dir)
    spec = json.loads((Path(bundle) / "check.json").read_text())
    singles, pairs = spec["singles"], [tuple(p) for p in spec["pairs"]]
    reference = load_file(Path(bundle) / "check.safetensors")
    rebuilt = load_backbone(DEFAULT_BACKBONE, device=device, attn_implementation="eager")
    got = features(rebuilt, singles, pairs, spec["max_length"])
    if guard is not None:
        guard.settle()
    tolerance = CPU_TOLERANCE if rebuilt.device.type == "cpu" else GPU_TOLERANCE
    diff = max(float((g - reference[k]).abs().max()) for g, k in zip(got, ("singles", "pairs")))
    own = REAL_FINGERPRINT(rebuilt.model)
    print(
        f"check: {len(singles)} texts and {len(pairs)} pairs on {rebuilt.device}: largest "
        f"difference to the real model's recorded features {diff:.2e} (tolerance {tolerance:g}); "
        f"{info['rows']} of {info['shape'][0]} embedding rows carried; fingerprint taken "
        f"{info['fingerprint']}, the rebuilt weights' own {own}"
    )
    if not diff <= tolerance:
        raise SystemExit("check FAILED: the rebuilt backbone is not the real one.")
    if real_dir is not None:  # the build machine (a local test): compare with the model itself
        backbone_module.fingerprint_model = REAL_FINGERPRINT
        real = load_backbone(str(real_dir), device=device, attn_implementation="eager")
        if real.fingerprint != info["fingerprint"]:
            raise SystemExit(f"check FAILED: the real backbone's fingerprint is {real.fingerprint}")
        theirs = features(real, singles, pairs, spec["max_length"])
        exact = all(torch.equal(a, b) for a, b in zip(got, theirs))
        print(f"check: the real backbone is here too; pooled features bit for bit equal: {exact}")
        if not exact:
            raise SystemExit("check FAILED: the rebuilt backbone's features are not the real one's")
    print("check: passed")


def metatrain(bundle: str, model_dir: str, args: list[str]) -> None:
    info, guard = install(bundle, model_dir)
    if "--max-length" in args:
        asked = int(args[args.index("--max-length") + 1])
        if asked > info["max_length"]:
            raise SystemExit(
                f"--max-length {asked}: the bundle carries the rows of texts up to "
                f"{info['max_length']} tokens only; make it again with a larger --max-length."
            )
    import engine.metatrain as metatrain_module
    from engine import cli
    from engine.progress import Cancelled

    stop = []

    def on_interrupt(signum, frame):
        print("SIGINT: stopping at the start of the next outer step.", file=sys.stderr, flush=True)
        stop.append(signum)

    signal.signal(signal.SIGINT, on_interrupt)
    check_cancel, save = metatrain_module.check_cancel, metatrain_module.save_meta_checkpoint

    def check_stop(should_stop):
        if stop:
            raise Cancelled("Stopped at the time limit: the last checkpoint written is kept.")
        check_cancel(should_stop)

    def settled_save(*a, **kw):
        if guard is not None:
            guard.settle()
        return save(*a, **kw)

    metatrain_module.check_cancel = check_stop
    metatrain_module.save_meta_checkpoint = settled_save
    code = cli.main(["metatrain", *args])
    if guard is not None:
        guard.settle()  # lookups after the last checkpoint: none of them is in a written file
    sys.exit(code)


def summary(run_dir: str) -> None:
    """One JSON object: the checkpoint's record; exits 1 when its files disagree."""
    from engine.formats import load_meta_checkpoint
    from engine.metatrain import read_trainer_info

    folder = Path(run_dir)
    checkpoint = load_meta_checkpoint(folder)
    state = read_trainer_info(folder)
    written = json.loads((folder / "config.json").read_text())
    training = checkpoint.training
    history = state["history"]
    validated = [r for r in history if "val_accuracy" in r]
    result = {
        "name": checkpoint.name,
        "fingerprint": checkpoint.fingerprint,
        "backbone_fingerprint": checkpoint.backbone_fingerprint,
        "outer_steps_done": training.get("outer_steps_done"),
        "trainer_state_step": state["step"],
        "episodes": training.get("episodes"),
        "seconds": training.get("seconds"),
        "final": training.get("final"),
        "hardware": training.get("hardware"),
        "started_from": {
            k: v
            for k, v in training.get("started_from", {}).items()
            if k in ("fingerprint", "outer_steps_done", "episodes")
        },  # fmt: skip
        "val_accuracy": [[r["step"], round(r["val_accuracy"], 4)] for r in validated],
        "last_steps": history[-3:],
        "consistent": state["step"] == training.get("outer_steps_done")
        and written.get("fingerprint") == checkpoint.fingerprint,
    }
    print(json.dumps(result, indent=1))
    if not result["consistent"]:
        raise SystemExit("summary: the checkpoint's files disagree (step or fingerprint).")


if __name__ == "__main__":
    verb = sys.argv[1]
    if verb == "check":
        check(*sys.argv[2:5])
    elif verb == "metatrain":
        metatrain(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif verb == "summary":
        summary(sys.argv[2])
    else:
        raise SystemExit(__doc__)
