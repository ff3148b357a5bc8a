#!/bin/bash
# One device call (tok2m, issue #13 target 2): epoch boundaries without a wait, compiled packed
# layers with the token budget, batch 256 schedules; main's code beside it, in its own processes.
# Run from the repository root of the device's copy, the worktree's code in .device-gpu/tok2m.
# BBC_OURS / NEWS_OURS / MAIN_OURS override the runs.
set -u
root=$PWD
cd .device-gpu/tok2m || exit 1
ln -sfn "$root/.device-carry" .device-carry
python3 -m pip install -q --no-deps --target /tmp/site whl/*.whl || exit 1
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv
quiet() { grep -v -e "Writing model shards\|Downloading\|Loading weights\|LOAD REPORT\|^Key \|^---\|UNEXPECTED\|MISSING\|^Notes\|^-" ; }
BBC_OURS=${BBC_OURS:-128:2e-4,128:2e-4,128:2e-4:watched,128:2e-4,128:2e-4:compiled,128:2e-4:compiled,256:3e-4,256:3e-4:warmup=0.3,256:4e-4:warmup=0.3,256:2e-4}
NEWS_OURS=${NEWS_OURS:-128:2e-4,128:2e-4,128:2e-4:watched,128:2e-4:compiled}
MAIN_OURS=${MAIN_OURS-128:2e-4,128:2e-4}
PYTHONPATH=/tmp/site:$PWD/src:$PWD python3 -m benchmarks.train_gpu --baselines tuned \
    --ours "$BBC_OURS" 2>&1 | quiet | tee "$OUT/bbc.log"
# Its own inductor cache: its first compiled run compiles from nothing, as the BBC one's does.
TORCHINDUCTOR_CACHE_DIR=/tmp/inductor-news20 PYTHONPATH=/tmp/site:$PWD/src:$PWD \
    python3 -m benchmarks.train_gpu --dataset news20 \
    --baselines tuned --ours "$NEWS_OURS" 2>&1 | quiet | tee "$OUT/news20.log"
[ -n "$MAIN_OURS" ] || exit 0
cd "$root" && git log -1 --format='main %H' 2>/dev/null | tee "$OUT/main.log"
for dataset in bbc news20; do
    PYTHONPATH=/tmp/site:$root/src:$root python3 -m benchmarks.train_gpu --dataset $dataset \
        --baselines "" --ours "$MAIN_OURS" 2>&1 | quiet | tee -a "$OUT/main.log"
done
