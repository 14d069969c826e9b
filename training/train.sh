#!/usr/bin/env bash
# One command: venv setup + data fetch + the training schedule of the shipped weights + export
# (float32, model 1) + the shipped half-precision file (model 2).
# Every stage resumes from runs/<name>/ckpt.pt, so re-running continues a cut run.
#   lr 3e-4 to step 110 000, 1e-4 to 173 653, 3e-5 to 201 542, 1e-5 to 221 217
# Usage: training/train.sh [--name v1] [other train.py flags, e.g. --threads 1]
# Runs in the foreground; for a background run see training/README.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
"$HERE/setup.sh"
"$HERE/fetch_data.sh"
cd "$HERE"
NAME=v1
for ((i = 1; i <= $#; i++)); do
  if [ "${!i}" = "--name" ]; then j=$((i + 1)); NAME="${!j}"; fi
done
for stage in "1e-4 173653" "3e-5 201542" "1e-5 221217"; do
  read -r lr2 until <<<"$stage"
  .venv/bin/python train.py --resume --lr 3e-4 --lr-drop-step 110000 --lr2 "$lr2" \
    --max-steps "$until" "$@"
done
.venv/bin/python export.py --run "runs/$NAME"
# The shipped file: the convolutions as float16 (model 2; stdlib-only, see half.py).
python3 half.py
