#!/usr/bin/env bash
# Build the one-folder Linux desktop bundle with PyInstaller, then start its self-test.
#
#     bash packaging/build_bundle.sh            # -> build/bundle/dist/Fewshot Studio/
#
# A clean virtual environment holds only what the app needs: the CPU build of torch (a plain
# `torch` would bring several GB of CUDA libraries), the package itself (not editable), and
# PyInstaller. Prints the bundle's size and the self-test's stages with their times.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=build/bundle-venv
out=build/bundle
torch_requirement=${TORCH_REQUIREMENT:-torch==2.13.0}  # the build machines' local CPU build

python3 -m venv "$venv"
. "$venv/bin/activate"
pip install -q "$torch_requirement"
pip install -q . "pyinstaller>=6.10"
pyinstaller --noconfirm --log-level WARN \
    --distpath "$out/dist" --workpath "$out/work" packaging/fewshot-studio.spec
bundle="$out/dist/Fewshot Studio"
# libtorch's debug symbols are about 70 MB. Only torch's own libraries are stripped: stripping
# every binary (PyInstaller's strip=True) breaks numpy's bundled OpenBLAS ("ELF load command
# address/offset not page-aligned").
strip --strip-unneeded "$bundle"/_internal/torch/lib/libtorch*.so

echo "Bundle: $bundle, $(du -sm "$bundle" | cut -f1) MB on disk, $(find "$bundle" -type f | wc -l) files"
echo "Largest parts:"
du -sm "$bundle"/_internal/* | sort -rn | head -8
# The bundle must work with no Python and no checkout in sight: run it from elsewhere.
(cd /tmp && env -u PYTHONPATH HF_HUB_OFFLINE=1 "$OLDPWD/$bundle/Fewshot Studio" --self-test)
