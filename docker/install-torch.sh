#!/bin/sh
# pip install torch==VERSION: from TORCH_INDEX_URL when that index answers (the PyTorch CPU wheel
# index by default: a ~200 MB CPU build instead of PyPI's CUDA build and its ~3 GB of NVIDIA
# libraries), else from the index pip is configured with, at once. Without this check, a build
# where download.pytorch.org is unreachable spent ~3 min in pip's retries (5 per package).
# TORCH_INDEX_URL="" always uses the configured index (where it holds a CPU build already).
set -eu
version=${1:?usage: install-torch.sh VERSION}
index=${TORCH_INDEX_URL:-}
if [ -n "$index" ] && python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=10).close()' "$index" 2>/dev/null
then
  exec pip install "torch==$version" --index-url "$index"
fi
[ -z "$index" ] || echo "install-torch: $index does not answer; torch $version from the configured index" >&2
exec pip install "torch==$version"
