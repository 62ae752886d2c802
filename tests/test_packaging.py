"""The distribution as users get it: sdist -> wheel -> a fresh venv, no checkout, no `-e`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TORCH_REQUIREMENT = "torch==2.13.0"  # the CPU build on the build machines, as in README.md


def run(command: list[str], cwd: Path, env: dict | None = None, timeout: int = 900):
    completed = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=env, timeout=timeout
    )
    assert completed.returncode == 0, (
        f"{' '.join(map(str, command))} exited {completed.returncode}:\n"
        f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    )
    return completed


def source_packages() -> set[str]:
    """Every Python package of the checkout's engine/ and app/, plus resources."""
    folders = {p.parent for top in ("engine", "app") for p in (ROOT / top).rglob("__init__.py")}
    return {str(f.relative_to(ROOT)) for f in folders} | {"resources"}


def shipped_fingerprint() -> str:
    config = ROOT / "resources" / "meta" / "all-MiniLM-L6-v2" / "config.json"
    return json.loads(config.read_text())["fingerprint"]


@pytest.fixture(scope="module")
def distributions(tmp_path_factory) -> tuple[Path, Path]:
    """(sdist, wheel) built the standard way: the wheel is built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return next(out.glob("*.tar.gz")), next(out.glob("*.whl"))


@pytest.mark.slow
def test_the_wheel_and_sdist_hold_every_package_and_resource(distributions):
    sdist, wheel = distributions
    wheel_files = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as archive:
        sdist_files = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for package in source_packages():
        assert f"{package}/__init__.py" in wheel_files, f"the wheel lacks {package}"
        assert f"{package}/__init__.py" in sdist_files, f"the sdist lacks {package}"
    for resource in (
        "resources/meta/all-MiniLM-L6-v2/meta.safetensors",
        "resources/meta/all-MiniLM-L6-v2/config.json",
        "resources/examples/three-topics.fewshot.json",
        "resources/icons/fewshot-studio.svg",
    ):
        assert resource in wheel_files and resource in sdist_files, resource
    # Resumable trainer state and the ablation's checkpoint are for the source tree only.
    assert not [name for name in wheel_files if "trainer_state" in name or "ablation" in name]


@pytest.mark.slow
def test_an_installed_wheel_trains_describes_and_passes_its_self_test(distributions, tmp_path):
    _, wheel = distributions
    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    run([python, "-m", "pip", "install", "-q", TORCH_REQUIREMENT], cwd=tmp_path)
    run([python, "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)
    bin_dir = environment / "bin"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "FEWSHOT_DATA_DIR": str(tmp_path / "data"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    env.pop("PYTHONPATH", None)
    work = tmp_path / "work"  # no checkout in sight: only the installed copy can be imported
    work.mkdir()

    version = run([bin_dir / "fewshot", "--version"], cwd=work, env=env).stdout
    assert version.startswith("fewshot 0.1.0 (Python")
    located = run(
        [python, "-c", "import engine, app; print(engine.__file__, app.__file__)"],
        cwd=work,
        env=env,
    ).stdout
    assert str(ROOT) not in located and "site-packages" in located

    rows = ["text,label"] + [
        f"{text},{label}"
        for label, texts in {
            "sports": ["The striker scored twice", "Our team won the final", "He ran a marathon"],
            "cooking": ["Simmer the sauce slowly", "Whisk the eggs well", "Bake the bread"],
        }.items()
        for text in texts
    ]
    (work / "examples.csv").write_text("\n".join(rows) + "\n")
    run([bin_dir / "fewshot", "train", "examples.csv", "-o", "topics.safetensors"], work, env)
    info = run([bin_dir / "fewshot", "info", "topics.safetensors"], cwd=work, env=env).stdout
    assert f"minilm-meta-adapters (fingerprint {shipped_fingerprint()})" in info
    assert "UNTRAINED" not in info

    self_test = run([bin_dir / "fewshot-studio", "--self-test"], cwd=work, env=env)
    assert "Self-test passed" in self_test.stdout
    assert str(ROOT) not in self_test.stdout  # the checkpoint came from site-packages
