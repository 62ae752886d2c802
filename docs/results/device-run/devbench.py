"""Device side of the GPU benchmark runs (see README.md in this folder).

  devbench.py rebuild PLANES_XZ CARRIED_JSON OUT_DIR   write OUT_DIR/model.safetensors
  devbench.py bench MODEL_DIR FINGERPRINT ARGS...      run `fewshot bench ARGS` on it

The rebuilt model holds the original weights, with zeros in the embedding rows that were not
carried. A guard on the word-embedding lookup stops the run if any of those rows is ever
read, so the model may take the original's fingerprint (and default name): every weight the
benchmark reads is the original's, and its reports merge with the CPU ones.
"""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def rebuild(planes_xz: str, carried_json: str, out_dir: str) -> None:
    out = Path(out_dir)
    planes_path = out / "planes.safetensors"
    with open(planes_path, "wb") as sink:
        subprocess.run(["xz", "-dc", planes_xz], stdout=sink, check=True)
    with safe_open(str(planes_path), "np") as f:
        layout = json.loads(f.metadata()["tensors"])
    planes = load_file(str(planes_path))
    tensors = {
        name: np.ascontiguousarray(planes[name].T).view(dtype).reshape(shape)
        for name, (dtype, shape) in layout.items()
    }
    info = json.loads(Path(carried_json).read_text())
    rows, ids = tensors.pop("carried.rows"), tensors.pop("carried.ids")
    if hashlib.sha256(rows.tobytes()).hexdigest() != info["rows_sha256"]:
        raise SystemExit("The carried embedding rows do not match their checksum.")
    full = np.zeros(info["shape"], dtype=rows.dtype)
    full[ids] = rows
    tensors[info["embedding_name"]] = full
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    np.save(out / "carried_ids.npy", ids)
    planes_path.unlink()


def bench(model_dir: str, fingerprint: str, args: list[str]) -> None:
    import engine.backbone as backbone_module
    from engine import cli

    model_dir = Path(model_dir)
    vocab = json.loads((model_dir / "config.json").read_text())["vocab_size"]
    carried = torch.zeros(vocab, dtype=torch.bool)
    carried[torch.from_numpy(np.load(model_dir / "carried_ids.npy"))] = True
    on_device = {}
    lookup = torch.nn.Embedding.forward

    def guarded_lookup(self, ids):
        if self.num_embeddings == vocab:
            mask = on_device.setdefault(ids.device, carried.to(ids.device))
            if not bool(mask[ids].all()):
                raise RuntimeError("A token outside the carried embedding rows was looked up.")
        return lookup(self, ids)

    torch.nn.Embedding.forward = guarded_lookup
    backbone_module.default_backbone_dir = lambda: model_dir
    backbone_module.fingerprint_model = lambda model: fingerprint
    sys.exit(cli.main(["bench", *args]))


if __name__ == "__main__":
    if sys.argv[1] == "rebuild":
        rebuild(*sys.argv[2:5])
    else:
        bench(sys.argv[2], sys.argv[3], sys.argv[4:])
