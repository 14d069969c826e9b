#!/usr/bin/env bash
# VP8 realtime baseline for one Y4M clip at one bitrate, with Debian's ffmpeg (libvpx):
#
#   scripts/vp8-baseline.sh CLIP.y4m KBPS
#
# Encodes in CBR (b = minrate = maxrate = KBPS) at `-deadline realtime -cpu-used 8`, single
# thread (reproducible), decodes the WebM back and compares it with the clip frame by frame,
# pairing frames by index. Prints one line of JSON:
#   {"clip","kbps_target","kbps","yuv_psnr","y_psnr","frames"}
# kbps: WebM file size (container included) * 8 / duration, duration = frames / clip fps.
# yuv_psnr: mean over frames of the per-frame PSNR from the MSE pooled over all Y, U and V
# samples (the same as the `psnr` of `aic eval`); y_psnr: mean over frames of luma PSNR.
# A frame that is identical to the original counts as 100 dB.
set -euo pipefail
die() { echo "scripts/vp8-baseline.sh: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: $0 CLIP.y4m KBPS" >&2; exit 2; }
clip="$1" kbps="$2"
[ -f "$clip" ] || die "no such file: $clip"
[[ "$kbps" =~ ^[1-9][0-9]*$ ]] || die "KBPS must be a positive integer, not '$kbps'"
command -v ffmpeg >/dev/null || bash "$(dirname "$0")/apt-install.sh" ffmpeg

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# Frame rate from the Y4M header (F<num>:<den>).
rate=$(head -n 1 "$clip" | tr ' ' '\n' | sed -n 's/^F\([0-9]*:[0-9]*\)$/\1/p')
[ -n "$rate" ] || die "$clip has no F<num>:<den> in its Y4M header"

ffmpeg -nostdin -hide_banner -loglevel error -y -i "$clip" -an -c:v libvpx \
  -deadline realtime -cpu-used 8 -threads 1 \
  -b:v "${kbps}k" -minrate "${kbps}k" -maxrate "${kbps}k" "$T/out.webm" \
  || die "VP8 encoding of $clip failed"

count() { # FILE: decoded video frames
  ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of default=nw=1:nk=1 "$1"
}
ref_frames=$(count "$clip")
dec_frames=$(count "$T/out.webm")
[ "$ref_frames" = "$dec_frames" ] \
  || die "decoded WebM has $dec_frames frames, $clip has $ref_frames (did the encoder drop frames?)"

ffmpeg -nostdin -hide_banner -loglevel error -i "$T/out.webm" -i "$clip" -lavfi \
  "[0:v]settb=1/1000,setpts=N[a];[1:v]settb=1/1000,setpts=N[b];[a][b]psnr=stats_file=$T/psnr.log,settb=1,setpts=N" \
  -f null - || die "PSNR comparison failed"
[ "$(wc -l <"$T/psnr.log")" = "$ref_frames" ] || die "the PSNR log does not have $ref_frames frames"

size=$(stat -c %s "$T/out.webm")
awk -v clip="$(basename "$clip")" -v target="$kbps" -v size="$size" -v rate="$rate" \
  -v frames="$ref_frames" '
  function db(v) { return (v == "inf" || v + 0 > 100) ? 100 : v + 0 }
  {
    for (i = 1; i <= NF; i++) {
      split($i, kv, ":")
      if (kv[1] == "psnr_avg") yuv += db(kv[2])
      if (kv[1] == "psnr_y") y += db(kv[2])
    }
  }
  END {
    split(rate, r, ":")
    secs = frames * r[2] / r[1]
    printf "{\"clip\":\"%s\",\"kbps_target\":%d,\"kbps\":%.1f,\"yuv_psnr\":%.3f,\"y_psnr\":%.3f,\"frames\":%d}\n",
      clip, target, size * 8 / secs / 1000, yuv / NR, y / NR, frames
  }' "$T/psnr.log"
