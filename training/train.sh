#!/usr/bin/env bash
# One command: venv setup + data fetch + training (resumes if runs/<name>/ckpt.pt exists).
# Usage: training/train.sh [--name v1] [other train.py flags]
# Runs in the foreground; for a background run see training/README.md.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
"$HERE/setup.sh"
"$HERE/fetch_data.sh"
cd "$HERE"
exec .venv/bin/python train.py --resume "$@"
