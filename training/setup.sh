#!/usr/bin/env bash
# Create training/.venv with the pinned Python dependencies (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if ! .venv/bin/python -c "import torch, compressai, PIL, numpy, matplotlib, scipy, safetensors" 2>/dev/null; then
  .venv/bin/pip install --upgrade pip
  if [ -f requirements.txt ] && grep -q '==' requirements.txt; then
    .venv/bin/pip install -r requirements.txt
  else
    .venv/bin/pip install torch compressai pillow numpy
  fi
fi
.venv/bin/python -c "import torch, compressai; print('torch', torch.__version__, 'compressai', compressai.__version__)"
