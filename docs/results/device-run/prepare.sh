# Sourced by run-peers.sh and run-meta.sh on the device machine: wheels, suite and backbone.
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
mkdir -p /tmp/site && for w in .devrun/wheels/*.whl; do python3 -m zipfile -e $w /tmp/site || exit 1; done
export PYTHONPATH=/tmp/site:$PWD
mkdir -p /work/shared/data /tmp/minilm /tmp/res
tar xJf .devrun/dev_suite.tar.xz -C /work/shared/data || exit 1
cp -r .devrun/backbone/. /tmp/minilm/ && rm /tmp/minilm/planes.safetensors.xz
python3 .devrun/devbench.py rebuild .devrun/backbone/planes.safetensors.xz .devrun/backbone/carried.json /tmp/minilm || exit 1
