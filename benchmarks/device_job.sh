# One device call: the carried wheels, the model, then the given benchmark steps.
# Usage (repo root, on the device): bash benchmarks/device_job.sh ours|predict|job ...
# Carry .device-carry/bbc.tar.gz, .whl, .whl-mlflow and .device-xz (benchmarks/gpu_common.py).
set -o pipefail
export MLFLOW_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
t0=$(date +%s.%N)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl .whl-mlflow/*.whl || exit 1
# mlflow-skinny stands in for mlflow, whose version the model's pip requirements name
mkdir -p /tmp/site/mlflow-3.17.2.dist-info
printf 'Metadata-Version: 2.1\nName: mlflow\nVersion: 3.17.2\n' > /tmp/site/mlflow-3.17.2.dist-info/METADATA
python3 -m compileall -q -j 0 /tmp/site > /dev/null  # as pip would have: no bytecode compiling in the job
mkdir -p .device-carry && tar -xJf .device-xz/minilm-fp16.tar.xz -C .device-carry || exit 1
export PYTHONPATH=$PWD/src:$PWD:/tmp/site
echo "setup $(python3 -c "import time; print(round(time.time() - $t0, 1))") s; $(nproc) cores; $(uptime)"
python3 -m pip list 2>/dev/null | grep -i -E "^(torch|transformers|tokenizers|mlflow|onnxruntime) "
for step in "$@"; do
  case $step in
    ours) python3 -m benchmarks.train_gpu --baselines "" --ours 64:1e-4 2>&1 | tee "$OUT/train_ours.log" ;;
    job) python3 -m benchmarks.train_gpu --baselines "" --ours "" --job 2>&1 | tee "$OUT/train_job.log" ;;
    predict) TOKENIZERS_PARALLELISM=false python3 -m benchmarks.predict_gpu 2>&1 | tee "$OUT/predict.log" ;;
  esac
  echo "after $step: $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
done
