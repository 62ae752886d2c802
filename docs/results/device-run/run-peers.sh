# GPU call 1 (see README.md): SetFit + full fine-tune at k=16 (all splits) and k=8 (splits 8-9),
# the S=10 candidate, and the shipped checkpoint with prototype and linear probe as a check.
. .devrun/prepare.sh
LIMIT=${LIMIT:-400}
nvidia-smi -L
python3 -c "import torch, transformers, sentence_transformers, pyarrow, datasets, setfit, sklearn; print(torch.__version__, torch.cuda.is_available(), transformers.__version__, sentence_transformers.__version__, pyarrow.__version__, datasets.__version__, setfit.__version__, sklearn.__version__)" 2>&1 | tail -3
B="python3 .devrun/devbench.py bench /tmp/minilm 0a752a59f2938e7d --suite /work/shared/data/dev_suite --max-eval 200 --max-length 64 --threads 2 --device cuda"
run() { name=$1; shift; timeout $LIMIT $B "$@" --out /tmp/res/$name.json > /tmp/res/$name.log 2>&1 & }
run peers-k16-0-1 --k 16 --splits 0-1 --methods setfit,full-finetune
run peers-k16-2-3 --k 16 --splits 2-3 --methods setfit,full-finetune
run peers-k16-4-5 --k 16 --splits 4-5 --methods setfit,full-finetune
run peers-k16-6-7 --k 16 --splits 6-7 --methods setfit,full-finetune
run peers-k16-8-9 --k 16 --splits 8-9 --methods setfit,full-finetune
run peers-k8-8-9 --k 8 --splits 8-9 --methods setfit,full-finetune
run meta-s10 --k 4,8,16 --splits 0-9 --methods meta-adapter --meta .devrun/meta-s10
run meta-shipped --k 4,8,16 --splits 0-9 --methods meta-adapter,prototype,linear-probe
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv; uptime
wait
for f in /tmp/res/*.log; do echo "== $f"; tail -4 $f; done
tar czf $OUT/results.tar.gz -C /tmp res
