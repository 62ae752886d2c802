# Device call 2: every meta-learned checkpoint (shipped, S=10 candidate, and the MAML ablation
# of each) at k=4/8/16 on all 10 splits, with the use-time overshoot guard, 16 processes.
. .devrun/prepare.sh
LIMIT=${LIMIT:-240}
B="python3 .devrun/devbench.py bench /tmp/minilm 0a752a59f2938e7d --suite /work/shared/data/dev_suite --max-eval 200 --max-length 64 --threads 1 --device cuda --k 4,8,16"
run() { name=$1; shift; timeout $LIMIT $B "$@" --out /tmp/res/$name.json > /tmp/res/$name.log 2>&1 & }
for part in 0-2 3-5 6-7 8-9; do
  run shipped-$part --splits $part --methods meta-adapter
  run s10-$part --splits $part --methods meta-adapter --meta .devrun/meta-s10
  run maml-$part --splits $part --methods maml-adapter --maml-meta resources/meta-ablation/maml-minilm
  run maml-s10-$part --splits $part --methods maml-adapter --maml-meta .devrun/maml-s10
done
sleep 45; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv; uptime
wait
for f in /tmp/res/*.log; do echo "== $f"; tail -c 300 $f; echo; done
tar czf $OUT/results.tar.gz -C /tmp res
