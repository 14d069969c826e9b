#!/usr/bin/env bash
# The live-video table of docs/video.md: each real clip through `aic eval-video` (AIC at a
# target bitrate, VP8 realtime at the bitrate AIC spent, in the same run), one JSON line per
# run in docs/video-results.jsonl and a plot per run in docs/video/.
#
#   scripts/eval-video.sh            # every clip and bitrate below (≈ 10 min on 2 cores)
#
# Needs the clips (scripts/fetch-clips.sh) and ffmpeg; builds the release `aic` without wgpu.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
CLIPS="${AIC_DATA:-$HOME/.cache/aic-data}/clips"
bash scripts/fetch-clips.sh
cargo build --release --locked -p aic-native --no-default-features
AIC="$CARGO_TARGET_DIR/release/aic"
mkdir -p docs/video
out=docs/video-results.jsonl
: > "$out"
# clip  kbps  extra flags
runs=(
  "bob-talking-320x240 300"
  "bob-talking-320x240 600"
  "franck-360x288 300"
  "franck-360x288 600"
  "balle-640x480-10fps 300"
  "balle-640x480-10fps 600"
  "cockatoo-640x360 600"
  "bob-talking-320x240 300 --no-refinement"
  "balle-640x480-10fps 300 --no-refinement"
)
for r in "${runs[@]}"; do
  read -r clip kbps extra <<<"$r"
  name="$clip-$kbps${extra:+-norefine}"
  echo "== $name"
  # shellcheck disable=SC2086
  "$AIC" eval-video "$CLIPS/$clip.y4m" --target-kbps "$kbps" $extra \
    --plot "docs/video/$name.png" --json > "$CACHE/eval-$name.json"
  python3 - "$CACHE/eval-$name.json" "$name" >> "$out" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
a, v = r["aic"], r["vp8"]
print(json.dumps({
    "run": sys.argv[2], "clip": r["clip"].split("/")[-1], "width": r["width"], "height": r["height"],
    "fps": r["fps"], "frames": r["frames"], "target_kbps": r["target_kbps"],
    "aic": {k: a[k] for k in ("kbps", "yuv_psnr", "rgb_psnr", "ssim", "skipped_fraction", "encode_ms", "decode_ms", "window_kbps")},
    "vp8": None if v is None else {k: v[k] for k in ("kbps", "yuv_psnr", "rgb_psnr", "ssim")},
    "gap_db": None if v is None else a["yuv_psnr"] - v["yuv_psnr"],
}))
EOF
  tail -1 "$out"
done
