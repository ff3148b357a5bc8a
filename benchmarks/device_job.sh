# One device call: the carried wheels, the model, then the given benchmark steps.
# Usage (repo root, on the device): [CODE=DIR] [JOBS=N] bash benchmarks/device_job.sh imports|ours|predict|job|job3|job-warm|blas ...
# Carry .device-carry/bbc.tar.gz, .whl, .whl-mlflow and .device-xz (benchmarks/gpu_common.py).
# CODE: a copy of the repo's src/ and benchmarks/ to run instead of the carried tree's (the wheels
# and the model are set up once per machine, the data unpacked once per copy). JOBS: jobs per
# process for job and job-warm (2). imports: the libraries imported and the fp32 model made once,
# so that the page cache is as warm for the first measured process as for the next.
set -o pipefail
export MLFLOW_DISABLE_TELEMETRY=true HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
t0=$(date +%s.%N)
CODE=${CODE:-$PWD}
if [ ! -f /tmp/site/mlflow-3.17.2.dist-info/METADATA ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl .whl-mlflow/*.whl || exit 1
  # mlflow-skinny stands in for mlflow, whose version the model's pip requirements name
  mkdir -p /tmp/site/mlflow-3.17.2.dist-info
  printf 'Metadata-Version: 2.1\nName: mlflow\nVersion: 3.17.2\n' > /tmp/site/mlflow-3.17.2.dist-info/METADATA
  python3 -m compileall -q -j 0 /tmp/site > /dev/null  # as pip would have: no bytecode compiling in the job
  mkdir -p .device-carry && tar -xJf .device-xz/minilm-fp16.tar.xz -C .device-carry || exit 1
fi
[ "$CODE" -ef "$PWD" ] || ln -sfn "$PWD/.device-carry" "$CODE/.device-carry"
export PYTHONPATH=$CODE/src:$CODE:/tmp/site
echo "setup $(python3 -c "import time; print(round(time.time() - $t0, 1))") s; $(nproc) cores; $(uptime); code $CODE"
python3 -m pip list 2>/dev/null | grep -i -E "^(torch|transformers|tokenizers|mlflow|onnxruntime|scikit-learn|scipy) "
run() { python3 -P -m "$@"; }  # -P: the modules of $CODE, not of the current folder
for step in "$@"; do
  case $step in
    ours) run benchmarks.train_gpu --baselines "" --ours 64:1e-4 2>&1 | tee "$OUT/train_ours.log" ;;
    imports) python3 -P -c "import time; t = time.time(); from benchmarks.gpu_common import base_model; base_model(); import torch, transformers, sklearn.linear_model, mlflow.pyfunc, onnxruntime, matplotlib.figure; print('imports', round(time.time() - t, 1), 's')" 2>&1 | tee -a "$OUT/train_job.log" ;;
    job) run benchmarks.train_gpu --baselines "" --ours "" --job --jobs "${JOBS:-2}" 2>&1 | tee -a "$OUT/train_job.log" ;;
    job3) run benchmarks.train_gpu --baselines "" --ours "" --job --jobs 3 2>&1 | tee -a "$OUT/train_job.log" ;;
    job-warm) run benchmarks.train_gpu --baselines "" --ours "" --job --warm-up --jobs "${JOBS:-2}" 2>&1 | tee -a "$OUT/train_job.log" ;;
    blas) run benchmarks.baseline_blas_threads bbc 2>&1 | tee -a "$OUT/train_job.log" ;;
    predict) TOKENIZERS_PARALLELISM=false run benchmarks.predict_gpu 2>&1 | tee "$OUT/predict.log" ;;
  esac
  rm -rf /tmp/cc-job-home  # each process's jobs on a store of their own: no champion from the last
  echo "after $step: $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
done
