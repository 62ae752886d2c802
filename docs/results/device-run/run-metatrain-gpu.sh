# Second-order meta-training on the lent GPU in one call, from the repository root of the copy
# that travels, with the bundle of carry_metatrain.py carried (README.md in this folder):
#   bash docs/results/device-run/run-metatrain-gpu.sh
# A bundle made with --all-rows takes two calls, one right after the other (the machine stays
# warm for 30 s): first `bash docs/results/device-run/run-metatrain-gpu.sh part-a` carrying
# .devrun-meta-a, then the plain command carrying .devrun-meta.
# Every setting below can be given in the environment; DEVICE=cpu with a tiny RECIPE tests it
# on the build machine. What comes back, under $OUT: checkpoint/ (meta.safetensors,
# config.json, trainer_state.safetensors, trainer_state.json), run.log, progress.jsonl (one
# JSON line per outer step) and summary.json (devmeta.py summary).
BUNDLE=${BUNDLE:-.devrun-meta}
DEVICE=${DEVICE:-cuda}
LIMIT=${LIMIT:-450}         # seconds for `metatrain` (data loading included); then SIGINT
INIT=${INIT-resources/meta/all-MiniLM-L6-v2}  # INIT= (empty): start from scratch
RESUME=${RESUME:-}          # a checkpoint folder this script returned, carried: go on with it
NAME=${NAME:-minilm-meta-adapters-gpu}
STEPS=${STEPS:-5000}        # planned outer steps; LIMIT ends the run long before on one GPU
SEED=${SEED:-0}
THREADS=${THREADS:-8}       # CPU threads for torch (tokenizing, k-means run on the CPU)
RECIPE=${RECIPE:---task-sampling family --lambda 0.35 --n-way 2 10 --k-shot 2 16 --query 4 --max-length 64 --inner-steps 10 --meta-batch 16 --lr 2e-4 --alpha-lr 0.05 --checkpoint-every 10 --validate-every 100}
WORK=${WORK:-/tmp/devmeta}  # on the device machine; a fresh one starts with none
PYTHON=${PYTHON:-python3}
HERE=docs/results/device-run

export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
export FEWSHOT_DATA_DIR=$WORK/home  # the word index and clusters are cached there
if [ "${1:-}" = part-a ]; then  # first of two calls: keep the first part of the weights
  mkdir -p $WORK && cp $BUNDLE-a/planes.part-a $WORK/ && ls -l $WORK/planes.part-a; exit
fi
: "${OUT:?set OUT to the folder whose files come back}"
mkdir -p "$OUT" && exec > >(tee "$OUT/run.log") 2>&1
set -o pipefail
echo "== $(date -u +%FT%TZ) bundle $BUNDLE, device $DEVICE, limit ${LIMIT}s, init '${INIT}', resume '${RESUME}'"
echo "   recipe: $RECIPE"

# -- set-up (as prepare.sh): wheels, data, the backbone rebuilt from its carried rows
rm -rf $WORK/site $WORK/data $WORK/minilm $WORK/run && mkdir -p $WORK/site $WORK/data $WORK/minilm
for w in $BUNDLE/wheels/*.whl; do $PYTHON -m zipfile -e $w $WORK/site || exit 2; done
export PYTHONPATH=$WORK/site:$PWD
tar xJf $BUNDLE/data.tar.xz -C $WORK/data || exit 2
tar xJf $BUNDLE/backbone/kept-files.tar.xz -C $WORK/minilm || exit 2
planes=$BUNDLE/backbone/planes.safetensors.xz
if $PYTHON -c "import json,sys; sys.exit('parts' not in json.load(open('$BUNDLE/backbone/carried.json')))"; then
  part_a=$WORK/planes.part-a; [ -f $part_a ] || part_a=$BUNDLE-a/planes.part-a
  [ -f $part_a ] || { echo "part A of the weights is not here: run the 'part-a' call first (the machine went back?)"; exit 3; }
  $PYTHON - $part_a $planes $BUNDLE/backbone/carried.json <<'EOF' || exit 3
import hashlib, json, sys
parts = [hashlib.sha256(open(p, "rb").read()).hexdigest() for p in sys.argv[1:3]]
sys.exit(None if parts == json.load(open(sys.argv[3]))["parts"] else "the parts are not this bundle's")
EOF
  cat $part_a $planes > $WORK/planes.xz && planes=$WORK/planes.xz
fi
$PYTHON $HERE/devbench.py rebuild $planes $BUNDLE/backbone/carried.json $WORK/minilm || exit 2
rm -f $WORK/planes.xz
$PYTHON -c "import engine, platformdirs; print('   engine from', engine.__file__)" || exit 2

# -- the check: pooled features of the rebuilt backbone against the real one's
$PYTHON $HERE/devmeta.py check $BUNDLE $WORK/minilm $DEVICE || { echo "CHECK FAILED: not training"; exit 3; }

# -- meta-training, second order, stopped by SIGINT at LIMIT (the last checkpoint is kept)
if [ -n "$RESUME" ]; then mkdir -p $WORK/run && cp -r "$RESUME"/. $WORK/run/ || exit 2; fi
if [ "$DEVICE" = cuda ]; then
  (sleep 150; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader | sed 's/^/   nvidia-smi at 150 s: /') &
fi
start=$(date +%s)
timeout -s INT -k 60 $LIMIT $PYTHON $HERE/devmeta.py metatrain $BUNDLE $WORK/minilm \
  --name $NAME --out $WORK/run --tasks $WORK/data/meta_train --unlabeled $WORK/data/unlabeled \
  --steps $STEPS --seed $SEED --threads $THREADS --device $DEVICE ${INIT:+--init $INIT} \
  $RECIPE --json-progress > $WORK/progress.jsonl
rc=$?
echo "== metatrain ended with status $rc after $(( $(date +%s) - start )) s (0: all steps done, 124: stopped at LIMIT, 137: killed 60 s later)"
grep -v '"event": "progress"' $WORK/progress.jsonl | tail -n 5
grep '"event": "progress"' $WORK/progress.jsonl | awk 'NR <= 3 || NR % 10 == 0' | tail -n 40

# -- what comes back
if [ -f $WORK/run/trainer_state.json ]; then
  mkdir -p "$OUT/checkpoint"
  cp $WORK/run/meta.safetensors $WORK/run/config.json $WORK/run/trainer_state.safetensors \
     $WORK/run/trainer_state.json "$OUT/checkpoint/" || exit 2
  cp $WORK/progress.jsonl "$OUT/"
  $PYTHON $HERE/devmeta.py summary $WORK/run > "$OUT/summary.json"; src=$?
  cat "$OUT/summary.json"
  [ $src = 0 ] || exit 4
else
  echo "NO CHECKPOINT was written (stopped before the first --checkpoint-every steps?)"; exit 4
fi
[ $rc = 0 ] || [ $rc = 124 ]
