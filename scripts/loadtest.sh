#!/usr/bin/env bash
# A bounded load test of one `aic serve` on loopback: HTTP throughput and latency, then live
# WebRTC ingest sessions, and the server's memory.
#
#   1. compress:   LOAD_CLIENTS concurrent clients POST the 512x512 photo to /v1/compress for
#                  LOAD_SECONDS (h2load over HTTP/1.1);
#   2. decompress: the same with that photo's AIC frame to /v1/decompress;
#   3. ingest:     `aic send --sessions LOAD_SESSIONS --seconds LOAD_SECONDS --fps 10`, with each
#                  session's stats read from the server (frames shown of frames sent, delay).
# Reports req/s, p50/p99 latency and errors per endpoint, the server's RSS at start, before and
# during the sessions (→ memory per session) and its peak (VmHWM). Prints a markdown table and
# writes JSON to ${AIC_CACHE:-~/.cache/aic}/loadtest.json; the server's log goes to
# ${AIC_ARTIFACTS:-~/.cache/aic/artifacts}/loadtest/.
#
# Binary: $AIC_BIN, else the release build if there is one, else the debug build (under
# ${CARGO_TARGET_DIR:-~/.cache/aic/target}). The server runs with --workers = the cores.
# Env: LOAD_CLIENTS (4), LOAD_SESSIONS (4), LOAD_SECONDS (20, at most 60), LOAD_PORT (18180;
# the admin port is LOAD_PORT+10), SEND_NICE (-10: the sender's priority). About 70 s with the
# defaults; the server and the sender are stopped on exit, also on failure or Ctrl-C (and
# after a SIGKILL, by the next run). Installs h2load (Debian nghttp2-client) if missing.
# Exits 1 if a request failed or `aic send` failed. On a shared or small machine the sender
# competes with the server for the cores: compare runs on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${AIC_CACHE:-$HOME/.cache/aic}"
TARGET="${CARGO_TARGET_DIR:-$CACHE/target}"
if [ -n "${AIC_BIN:-}" ]; then
  AIC="$AIC_BIN"
elif [ -x "$TARGET/release/aic" ] && "$TARGET/release/aic" serve --help >/dev/null 2>&1; then
  AIC="$TARGET/release/aic"
else
  AIC="$TARGET/debug/aic"
fi
ART="${AIC_ARTIFACTS:-$CACHE/artifacts}/loadtest"
OUT_JSON="$CACHE/loadtest.json"
CLIENTS="${LOAD_CLIENTS:-4}"
SESSIONS="${LOAD_SESSIONS:-4}"
SECONDS_EACH="${LOAD_SECONDS:-20}"
PORT="${LOAD_PORT:-18180}"
ADMIN_PORT=$((PORT + 10))
PHOTO=tests/fixtures/generated/metrics/astronaut.png
CLIP=tests/fixtures/generated/clips/talking-320x240.y4m
URL="http://127.0.0.1:$PORT"
WORKERS="$(nproc)"
# The sender stands for browsers on other machines: it runs at a higher priority than the
# server so that its encoding keeps up with --fps (a sender that falls behind stops reading its
# socket and its sessions stall; see the report's "sender behind" note).
SEND_NICE="${SEND_NICE:--10}"

step() { printf '\n== %s\n' "$*"; }
die() { echo "loadtest.sh: $*" >&2; exit 1; }

for v in CLIENTS SESSIONS SECONDS_EACH PORT; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got ${!v})"
done
[ "$SECONDS_EACH" -le 60 ] || die "LOAD_SECONDS ≤ 60 keeps the run bounded"
"$AIC" serve --help >/dev/null 2>&1 || die "$AIC has no 'serve' (build it first)"
command -v h2load >/dev/null || bash scripts/apt-install.sh nghttp2-client
for t in curl jq awk; do command -v "$t" >/dev/null || die "$t is needed"; done

# The processes this script starts, as "pid start-time" lines: if a run is killed before its
# trap runs (SIGKILL), the next run ends them (by pid, when the start time still matches).
STATE=/tmp/aic-loadtest.pids
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
remember() { echo "$1 $(start_time "$1")" >>"$STATE"; }
if [ -f "$STATE" ]; then
  while read -r p t; do
    if [ "$p" = dir ]; then
      [[ "$t" == /tmp/aic-loadtest.* ]] && rm -rf "$t"
    elif [ -n "$t" ] && [ "$(start_time "$p")" = "$t" ]; then
      kill -KILL "$p" 2>/dev/null && echo "ended pid $p of an earlier run"
    fi
  done <"$STATE"
fi

WORK="$(mktemp -d /tmp/aic-loadtest.XXXXXX)"
echo "dir $WORK" >"$STATE"
mkdir -p "$ART" "$CACHE"
SERVER_PID=""
SEND_PID=""
cleanup() {
  set +e
  [ -n "$SEND_PID" ] && kill -TERM "$SEND_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill -TERM "$SERVER_PID" 2>/dev/null
  for _ in $(seq 1 70); do
    { [ -z "$SERVER_PID" ] || ! kill -0 "$SERVER_PID" 2>/dev/null; } &&
      { [ -z "$SEND_PID" ] || ! kill -0 "$SEND_PID" 2>/dev/null; } && break
    sleep 0.1
  done
  local p
  for p in $SEND_PID $SERVER_PID; do
    kill -KILL "$p" 2>/dev/null
    { wait "$p"; } 2>/dev/null
  done
  rm -rf "$WORK"
  rm -f "$STATE"
}
on_exit() {
  local rc=$?
  # Quiet: bash would report each process it kills ("Killed ...").
  cleanup 2>/dev/null
  [ "$rc" -ne 0 ] && echo "loadtest.sh: exit $rc; logs in $ART" >&2
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

kib() { awk -v k="$2" '$1==k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# --- server --------------------------------------------------------------------------------
step "server: $AIC serve on $URL (admin :$ADMIN_PORT, $WORKERS workers)"
cat >"$WORK/serve.toml" <<EOF
[limits]
# A short drain: the test stops the server itself.
unready_grace_ms = 0
drain_seconds = 5
[client_limits]
# The load comes from one client (this script on 127.0.0.1): the server's own limits are what
# is measured, not the per-client ones (those are the attacker's test's, tests/security.rs).
requests_per_second = 100000.0
in_flight = 100000
sessions = 1000
EOF
"$AIC" serve --config "$WORK/serve.toml" --http "127.0.0.1:$PORT" --grpc "127.0.0.1:$PORT" \
  --admin "127.0.0.1:$ADMIN_PORT" --udp 127.0.0.1:0 --node-id load --workers "$WORKERS" \
  >"$ART/server.log" 2>&1 &
SERVER_PID=$!
remember "$SERVER_PID"
deadline=$(($(date +%s) + 120))
until grep -q '^aic serve: http://' "$ART/server.log"; do
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$ART/server.log" >&2; die "the server exited during start-up"; }
  [ "$(date +%s)" -lt "$deadline" ] || die "the server is not ready after 120 s"
  sleep 0.3
done
grep -m1 '^aic serve: http://' "$ART/server.log"
# The development token a loopback server without a secret prints (admin).
TOKEN=$(sed -n 's/^aic serve: development token ([^)]*): //p' "$ART/server.log" | head -1)
[ -n "$TOKEN" ] || die "the server printed no development token"
RSS_START=$(kib "$SERVER_PID" VmRSS)
echo "RSS after start: $((RSS_START / 1024)) MiB"

code=$(curl -s -o "$WORK/photo.aic" -w '%{http_code}' -X POST --data-binary "@$PHOTO" \
  -H 'content-type: image/png' "$URL/v1/compress?quality=3")
[ "$code" = 200 ] || die "compressing the photo answered $code: $(head -c 300 "$WORK/photo.aic")"
echo "photo: $(stat -c %s "$PHOTO") bytes PNG -> $(stat -c %s "$WORK/photo.aic") bytes AIC"

# --- HTTP load -----------------------------------------------------------------------------
# Runs h2load; prints one JSON object: requests, ok, errors, req_s, p50_ms, p99_ms, statuses.
h2load_run() { # name path body content-type
  local name=$1 log="$WORK/$1.log"
  h2load --h1 -c "$CLIENTS" -D "$SECONDS_EACH" -d "$3" -H "content-type: $4" \
    -T 30 --log-file="$log" "$URL$2" >"$ART/h2load-$name.txt" 2>&1 || true
  grep -E '^(finished|requests|status codes)' "$ART/h2load-$name.txt" | sed 's/^/  /' >&2
  # The log: start (µs since the epoch), status (-1: failed), duration (µs).
  awk -v d="$SECONDS_EACH" '
    { n++; if ($2 >= 200 && $2 < 300) { ok++; lat[ok] = $3 / 1000 } else err++; st[$2]++ }
    END {
      # Nearest-rank percentiles over the successful requests (sorted by insertion below).
      m = ok; for (i = 2; i <= m; i++) { v = lat[i]; j = i - 1; while (j > 0 && lat[j] > v) { lat[j+1] = lat[j]; j-- } lat[j+1] = v }
      p50 = m ? lat[int(0.50 * m + 0.999999) > 0 ? int(0.50 * m + 0.999999) : 1] : 0
      p99 = m ? lat[int(0.99 * m + 0.999999) > 0 ? int(0.99 * m + 0.999999) : 1] : 0
      s = ""; for (k in st) s = s (s ? "," : "") "\"" k "\":" st[k]
      printf "{\"requests\":%d,\"ok\":%d,\"errors\":%d,\"req_s\":%.2f,\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"statuses\":{%s}}\n", n, ok, err, ok / d, p50, p99, s
    }' "$log"
}

step "compress: $CLIENTS clients x ${SECONDS_EACH} s, POST /v1/compress?quality=3 (512x512 PNG)"
COMPRESS=$(h2load_run compress "/v1/compress?quality=3" "$PHOTO" image/png)
echo "  $COMPRESS"
step "decompress: $CLIENTS clients x ${SECONDS_EACH} s, POST /v1/decompress (its AIC frame)"
DECOMPRESS=$(h2load_run decompress /v1/decompress "$WORK/photo.aic" application/x-aic)
echo "  $DECOMPRESS"
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" >"$ART/metrics-after-http.txt" || true

# --- ingest sessions -----------------------------------------------------------------------
step "ingest: aic send --sessions $SESSIONS --seconds $SECONDS_EACH --fps 10"
sleep 1
RSS_BEFORE=$(kib "$SERVER_PID" VmRSS)
THREADS_BEFORE=$(kib "$SERVER_PID" Threads)
nice -n "$SEND_NICE" "$AIC" send "$CLIP" --whip "$URL/v1/whip" --token "$TOKEN" --sessions "$SESSIONS" \
  --seconds "$SECONDS_EACH" --fps 10 >"$ART/send.jsonl" 2>"$ART/send.log" &
SEND_PID=$!
remember "$SEND_PID"
RSS_PEAK_SESSIONS=$RSS_BEFORE
THREADS_SESSIONS=$THREADS_BEFORE
i=0
# Every 0.5 s: the server's RSS and every session's stats (a session leaves the list when the
# sender DELETEs it, so the last snapshot of each counts).
while kill -0 "$SEND_PID" 2>/dev/null; do
  r=$(kib "$SERVER_PID" VmRSS)
  [ "${r:-0}" -gt "$RSS_PEAK_SESSIONS" ] && RSS_PEAK_SESSIONS=$r
  t=$(kib "$SERVER_PID" Threads)
  [ "${t:-0}" -gt "$THREADS_SESSIONS" ] && THREADS_SESSIONS=$t
  curl -s --max-time 2 -H "Authorization: Bearer $TOKEN" "$URL/v1/sessions" >"$WORK/snap-$(printf %04d $i).json" || true
  i=$((i + 1))
  [ "$i" -lt $(((SECONDS_EACH + 60) * 2)) ] || { echo "the sender runs too long; stopping it" >&2; break; }
  sleep 0.5
done
send_rc=0
if kill -0 "$SEND_PID" 2>/dev/null; then
  kill -TERM "$SEND_PID"; send_rc="killed"
else
  wait "$SEND_PID" || send_rc=$?
fi
SEND_PID=""
sed 's/^/  /' "$ART/send.log"
# The last snapshot of each session (most packets), keyed by id.
jq -s '[.[] | .sessions? // [] | .[]] | group_by(.id) | map(max_by(.packets))' "$WORK"/snap-*.json \
  >"$ART/sessions.json" 2>/dev/null || echo '[]' >"$ART/sessions.json"
jq -s '.' "$ART/send.jsonl" >"$WORK/send.json" 2>/dev/null || echo '[]' >"$WORK/send.json"
INGEST=$(jq -n --slurpfile server "$ART/sessions.json" --slurpfile sent "$WORK/send.json" '
  ($server[0]) as $s | ($sent[0]) as $t |
  [ $t[] | . as $r | ($r.session | split("/") | last) as $id |
    # Newer senders read the session stats just before they end it; else the last snapshot.
    ($r.server // ($s | map(select(.id == $id)) | first)) as $v |
    { id: $id, frames_sent: $r.frames_sent, frames_shown: ($v.frames_shown // 0),
      shown_ratio: (if $r.frames_sent > 0 then (($v.frames_shown // 0) / $r.frames_sent) else 0 end),
      delay_p50_ms: ($v.delay_p50_ms // null), delay_p95_ms: ($v.delay_p95_ms // null),
      frames_lost: ($v.frames_lost // null), frames_late: ($v.frames_late // null),
      packets_dropped_server: ($v.packets_dropped // null), packets_dropped_sender: $r.packets_dropped,
      frames_dropped_sender: ($r.frames_dropped // null),
      kbps: $r.kbps, connect_ms: $r.connect_ms, key_requests: $r.key_requests } ]')
RSS_AFTER=$(kib "$SERVER_PID" VmRSS)
HWM=$(kib "$SERVER_PID" VmHWM)
kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the test (log: $ART/server.log)"
curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" >"$ART/metrics-end.txt" || true

# --- report --------------------------------------------------------------------------------
sessions_ok=$(jq -r 'length' <<<"$INGEST")
PER_SESSION_KIB=$(((RSS_PEAK_SESSIONS - RSS_BEFORE) / SESSIONS))
# The kernel updates VmHWM lazily: a sample may be above it.
PEAK=$((HWM > RSS_PEAK_SESSIONS ? HWM : RSS_PEAK_SESSIONS))
jq -n \
  --arg binary "$AIC" --argjson workers "$WORKERS" --argjson cores "$(nproc)" \
  --argjson clients "$CLIENTS" --argjson seconds "$SECONDS_EACH" --argjson sessions "$SESSIONS" \
  --argjson compress "$COMPRESS" --argjson decompress "$DECOMPRESS" --argjson ingest "$INGEST" \
  --arg send_exit "$send_rc" \
  --argjson rss_start "$RSS_START" --argjson rss_before "$RSS_BEFORE" \
  --argjson rss_sessions "$RSS_PEAK_SESSIONS" --argjson rss_after "$RSS_AFTER" --argjson hwm "$HWM" \
  --argjson threads_before "$THREADS_BEFORE" --argjson threads_sessions "$THREADS_SESSIONS" \
  '{binary: $binary, workers: $workers, cores: $cores, clients: $clients, seconds: $seconds,
    compress: $compress, decompress: $decompress,
    ingest: {sessions: $sessions, reported: ($ingest | length), send_exit: $send_exit, per_session: $ingest},
    memory_kib: {rss_start: $rss_start, rss_before_sessions: $rss_before,
      rss_peak_during_sessions: $rss_sessions, rss_after_sessions: $rss_after, vm_hwm: $hwm, peak: ([$hwm, $rss_sessions] | max),
      per_session: (($rss_sessions - $rss_before) / $sessions | floor)},
    threads: {before_sessions: $threads_before, during_sessions: $threads_sessions}}' >"$OUT_JSON"

step "results ($AIC, $WORKERS workers, $CLIENTS clients, ${SECONDS_EACH} s each)"
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
{
  echo "| endpoint | requests | ok | errors | req/s | p50 ms | p99 ms |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for name in compress decompress; do
    j=$([ "$name" = compress ] && echo "$COMPRESS" || echo "$DECOMPRESS")
    jq -r --arg n "$name" '"| \($n) | \(.requests) | \(.ok) | \(.errors) | \(.req_s) | \(.p50_ms) | \(.p99_ms) |"' <<<"$j"
  done
  echo
  echo "| session | frames shown / sent | delay p50 ms | delay p95 ms | lost | late | packets dropped (server/sender) | frames unsent | kbps |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  jq -r '.[] | "| \(.id) | \(.frames_shown) / \(.frames_sent) (\(.shown_ratio * 100 | floor)%) | \(.delay_p50_ms) | \(.delay_p95_ms) | \(.frames_lost) | \(.frames_late) | \(.packets_dropped_server)/\(.packets_dropped_sender) | \(.frames_dropped_sender // "-") | \(.kbps | floor) |"' <<<"$INGEST"
  echo
  echo "| memory | MiB |"
  echo "|---|---:|"
  echo "| RSS after start | $(mib "$RSS_START") |"
  echo "| RSS before sessions (after the HTTP load) | $(mib "$RSS_BEFORE") |"
  echo "| RSS peak with $SESSIONS sessions | $(mib "$RSS_PEAK_SESSIONS") |"
  echo "| RSS after sessions | $(mib "$RSS_AFTER") |"
  echo "| peak RSS (VmHWM, or the highest sample if higher) | $(mib "$PEAK") |"
  echo "| per session | $(mib "$PER_SESSION_KIB") |"
} | tee "$ART/report.md"
echo
echo "threads: $THREADS_BEFORE before sessions, $THREADS_SESSIONS with $SESSIONS sessions"
echo "aic send: exit $send_rc, $sessions_ok of $SESSIONS sessions reported"
behind=$(jq --argjson want $((SECONDS_EACH * 10)) '[.[] | select(.frames_sent < 0.9 * $want)] | length' <<<"$INGEST")
[ "$behind" -eq 0 ] ||
  echo "note: the sender fell behind in $behind session(s) (< 90% of $((SECONDS_EACH * 10)) frames sent): the machine is short of CPU"
echo "JSON: $OUT_JSON; logs: $ART"
fail=0
[ "$(jq .errors <<<"$COMPRESS")" -eq 0 ] || { echo "compress had errors" >&2; fail=1; }
[ "$(jq .errors <<<"$DECOMPRESS")" -eq 0 ] || { echo "decompress had errors" >&2; fail=1; }
[ "$send_rc" = 0 ] || { echo "aic send failed ($send_rc)" >&2; fail=1; }
[ "$fail" -eq 0 ] || exit 1
echo "loadtest: done"
