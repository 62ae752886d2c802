"""Start-up: the window comes before torch, and the model loads behind it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_start_path_imports_neither_torch_nor_transformers():
    # engine.training_state gives the window its words about the classifier (with
    # engine.training_data's checks on the examples), engine.progress the time left of a run:
    # all stdlib only.
    code = (
        "import sys, app.main, app.main_window;"
        "light = {'engine', 'engine.training_state', 'engine.training_data', 'engine.progress'};"
        "heavy = sorted(m for m in sys.modules if m not in light"
        " and m.split('.')[0] in ('torch', 'transformers', 'engine', 'numpy', 'pandas'));"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_app_and_the_engine_agree_on_the_data_dir(tmp_path, monkeypatch):
    from app.app_settings import data_dir
    from engine.locations import user_data_dir

    assert data_dir() == user_data_dir()
    monkeypatch.delenv("FEWSHOT_DATA_DIR")
    monkeypatch.setattr("platformdirs.user_data_path", lambda *a, **k: tmp_path / "per-user")
    assert data_dir() == user_data_dir() == tmp_path / "per-user"


def test_a_real_start_shows_the_window_then_loads_the_model():
    from app.bench_startup import launch_once

    # The order is the behaviour; how fast it is lives in the start-up benchmark. A loaded CI
    # machine gets the time it needs.
    times = launch_once(timeout_s=600.0)
    assert 0 < times["window_shown"] < times["engine_imported"] <= times["model_ready"]


def test_the_engine_cli_is_reachable_through_the_app_entry_point():
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, app.main; sys.exit(app.main.main(['--engine-cli', '--help']))",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert completed.returncode == 0 and "metatrain" in completed.stdout


def run_app(*arguments: str, **environment: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "app.main", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        timeout=300,
    )


def test_both_programs_print_their_versions():
    from engine.about import package_version

    app_version = run_app("--version")
    assert app_version.returncode == 0
    assert app_version.stdout.startswith(f"fewshot-studio {package_version()} (Python ")
    assert "torch " in app_version.stdout and "onnxruntime " in app_version.stdout
    cli = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--version"], capture_output=True, text=True
    )
    assert cli.returncode == 0 and cli.stdout.startswith(f"fewshot {package_version()} (")


def test_a_missing_platform_plugin_is_explained_not_aborted():
    completed = run_app(QT_QPA_PLATFORM="no-such-plugin")
    assert completed.returncode == 2  # not a negative number: no abort(), no core dump
    assert "fewshot-studio: cannot open a window." in completed.stderr
    assert "Qt has no platform plugin 'no-such-plugin'" in completed.stderr
    assert "offscreen" in completed.stderr  # what is available instead


def test_missing_system_libraries_are_named_with_the_install_command(tmp_path):
    """A plugin that links a library the system lacks, as libqxcb.so does without libxcb-*."""
    import shutil

    from app.startup_check import diagnose

    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("needs a C compiler to build a stand-in plugin")
    (tmp_path / "stub.c").write_text("int stub(void) { return 0; }\n")
    absent = "libxcb-fewshot-absent.so.0"
    subprocess.run(
        [compiler, "-shared", "-fPIC", f"-Wl,-soname,{absent}", "-o", tmp_path / absent,
         tmp_path / "stub.c"],
        check=True,
    )  # fmt: skip
    plugins = tmp_path / "platforms"
    plugins.mkdir()
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", plugins / "libqxcb.so", tmp_path / "stub.c",
         "-Wl,--no-as-needed", tmp_path / absent],
        check=True,
    )  # fmt: skip
    (tmp_path / absent).unlink()  # now the plugin's dependency is missing, as on a bare system
    advice = diagnose(['Could not load the Qt platform plugin "xcb" in ""'], plugins)
    assert absent in advice and "apt-file search" in advice


def test_known_libraries_get_the_apt_and_dnf_lines():
    from app.startup_check import install_advice

    advice = install_advice(["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in advice
    assert "sudo dnf install xcb-util-cursor xcb-util-wm" in advice


def test_no_display_is_said_plainly(tmp_path, monkeypatch):
    from app import startup_check

    plugins = tmp_path / "platforms"
    plugins.mkdir()
    (plugins / "libqxcb.so").touch()
    monkeypatch.setattr(startup_check, "missing_libraries", lambda plugin: [])  # all present
    monkeypatch.delenv("DISPLAY", raising=False)
    advice = startup_check.diagnose(['Could not load the Qt platform plugin "xcb" in ""'], plugins)
    assert "no display" in advice and "DISPLAY is not set" in advice


@pytest.mark.slow
def test_the_self_test_passes_offscreen(tmp_path):
    completed = run_app("--self-test", FEWSHOT_DATA_DIR=str(tmp_path))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    stages = ("s  window, backbone", "s  trained on the example project", "s  Try it: ")
    assert [line.startswith("ok ") and stage in line for line, stage in zip(lines, stages)] == [
        True
    ] * 3
    assert "minilm-meta-adapters" in lines[0] and "Self-test passed" in lines[-1]
