#!/usr/bin/env bash
# Three `aic serve` nodes behind HAProxy on one machine: failover and drain, end to end.
#
# Builds a small cluster out of network namespaces (aic-n1..aic-n3, 10.77.0.1-3, each with a
# veth on the bridge aic-br0, the root namespace at 10.77.0.254), starts one `aic serve` in
# each (HTTP and gRPC on :8080, admin on :9090, WebRTC on udp :50000, --workers 1, every node
# knowing the others' URLs for 307s; unready_grace_ms 1500, drain_seconds 20) and HAProxy in the root namespace on 127.0.0.1:18080
# (round robin, health checks on /readyz, redispatch and retries). Then checks:
#   a) spread:   30 compress requests through HAProxy all succeed, and every node did some;
#   b) sessions: `aic send --sessions 3 --fps 5` through HAProxy (at nice -10: it stands for
#                browsers on other machines); which nodes hold them; a GET of a session on a
#                node that does not own it answers 307 to the owner;
#   c) kill:     under 4 client loops, `kill -9` n3: at most 4 requests fail (those in flight
#                on n3, one per loop at most), the sessions on n1/n2 keep showing frames;
#   d) drain:    under the same load, SIGTERM n2: no request fails, n2's /readyz answers 503
#                within 0.5 s and never 200 again,
#                n2 exits within drain_seconds, the sessions on n1 keep showing frames.
# Prints PASS/FAIL per check with its numbers and a summary; exits 1 on any FAIL. Logs of every
# node, HAProxy and the sender go to ${AIC_ARTIFACTS:-~/.cache/aic/artifacts}/cluster/.
#
# Run as root (namespaces, veth, a bridge): sudo tests/cluster/three-nodes.sh
# Binary: $AIC_BIN, else ${CARGO_TARGET_DIR:-~/.cache/aic/target}/debug/aic. Takes ~1 minute.
# Env: LOAD_LOOPS (4), NODE_WORKERS (1), SEND_NICE (-10), AIC_ARTIFACTS.
# Everything it creates (namespaces, bridge, processes, temp files) is removed on exit, also on
# failure or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/../.."

AIC="${AIC_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/aic/target}/debug/aic}"
ART="${AIC_ARTIFACTS:-$HOME/.cache/aic/artifacts}/cluster"
PHOTO=tests/fixtures/generated/metrics/astronaut.png
CLIP=tests/fixtures/generated/clips/talking-320x240.y4m
LB=http://127.0.0.1:18080
STATS_URL="http://127.0.0.1:18081/stats;csv"
BRIDGE=aic-br0
NODES=(1 2 3)
GRACE_MS=1500
DRAIN_SECONDS=20
# Long enough for the sessions to outlive check d)'s second look at n1 (~25 s after they open).
SEND_SECONDS=35
# --workers of each node (the checks are specified for 1).
NODE_WORKERS="${NODE_WORKERS:-1}"
LOOPS="${LOAD_LOOPS:-4}"
# The sender stands for browsers on their own machines: it runs at a higher priority than the
# nodes, which saturate this machine's cores under the load of checks c) and d).
SEND_NICE="${SEND_NICE:--10}"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
step() { printf '\n== %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || { echo "three-nodes.sh: run as root (network namespaces)" >&2; exit 1; }
"$AIC" serve --help >/dev/null 2>&1 || { echo "three-nodes.sh: $AIC has no 'serve' (build it first)" >&2; exit 1; }
command -v haproxy >/dev/null || bash scripts/apt-install.sh haproxy
for t in curl jq ip; do
  command -v "$t" >/dev/null || { echo "three-nodes.sh: $t is needed" >&2; exit 1; }
done

# The processes this script starts, as "pid start-time" lines: if a run is killed before its
# trap runs (SIGKILL), the next run ends them (by pid, when the start time still matches).
STATE=/tmp/aic-three-nodes.pids
WORK="$(mktemp -d /tmp/aic-cluster.XXXXXX)"
mkdir -p "$ART"
rm -f "$ART"/*.log "$ART"/*.jsonl "$ART"/*.txt "$ART"/*.cfg
declare -A PID=()
HAPROXY_PID=""
SEND_PID=""
LOAD_PIDS=()
LOAD_OK=0 LOAD_FAILED=0 LOAD_CODES=""
T_START=$(date +%s)

# Removes what an earlier run left if it was killed before its trap could run: processes in
# our namespaces, the namespaces, the veths and the bridge.
start_time() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'; }
remember() { echo "$1 $(start_time "$1")" >>"$STATE"; }
preclean() {
  local n p t
  if [ -f "$STATE" ]; then
    while read -r p t; do
      if [ "$p" = dir ]; then
        [[ "$t" == /tmp/aic-cluster.* ]] && rm -rf "$t"
      elif [ -n "$t" ] && [ "$(start_time "$p")" = "$t" ]; then
        kill -KILL "$p" 2>/dev/null && echo "ended pid $p of an earlier run"
      fi
    done <"$STATE"
  fi
  echo "dir $WORK" >"$STATE"
  for n in "${NODES[@]}"; do
    for p in $(ip netns pids "aic-n$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "aic-n$n" 2>/dev/null || true
    ip link del "aic-v$n" 2>/dev/null || true
  done
  ip link del "$BRIDGE" 2>/dev/null || true
  wait_links_gone
}
# A deleted namespace goes away asynchronously, and its veth with it.
wait_links_gone() {
  local i n
  for i in $(seq 1 50); do
    for n in "${NODES[@]}"; do
      ip link show "aic-v$n" >/dev/null 2>&1 && { sleep 0.1; continue 2; }
    done
    return 0
  done
  echo "veths aic-v1..3 still exist after 5 s" >&2
  return 1
}

# Removes everything this script created (idempotent).
cleanup() {
  set +e
  touch "$WORK/stop" 2>/dev/null
  local all=("${LOAD_PIDS[@]}" "${PID[@]}")
  [ -n "$SEND_PID" ] && all+=("$SEND_PID")
  [ -n "$HAPROXY_PID" ] && all+=("$HAPROXY_PID")
  for p in "${all[@]}"; do
    kill -TERM "$p" 2>/dev/null
  done
  # Whatever still runs inside our namespaces is ours.
  for n in "${NODES[@]}"; do
    for p in $(ip netns pids "aic-n$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  sleep 0.3
  for p in "${all[@]}"; do
    kill -KILL "$p" 2>/dev/null
    { wait "$p"; } 2>/dev/null
  done
  for n in "${NODES[@]}"; do
    ip netns del "aic-n$n" 2>/dev/null
  done
  ip link del "$BRIDGE" 2>/dev/null
  wait_links_gone
  [ -n "${WORK:-}" ] && rm -rf "$WORK"
  rm -f "$STATE"
}
on_exit() {
  local rc=$?
  # Quiet: bash would report each process it kills ("Killed ...").
  cleanup 2>/dev/null
  [ "$rc" -ne 0 ] && echo "three-nodes.sh: exit $rc; logs in $ART" >&2
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

RESULTS=()
FAILED=0
verdict() { # name ok(0/1) details
  local v=PASS
  [ "$2" -eq 1 ] || { v=FAIL; FAILED=$((FAILED + 1)); }
  RESULTS+=("$v  $1: $3")
  printf '%s  %s: %s\n' "$v" "$1" "$3"
}

ms_now() { date +%s%3N; }

# --- network -------------------------------------------------------------------------------
step "network: bridge $BRIDGE 10.77.0.254/24, namespaces aic-n1..3"
preclean
ip link add "$BRIDGE" type bridge
ip addr add 10.77.0.254/24 dev "$BRIDGE"
ip link set "$BRIDGE" up
for n in "${NODES[@]}"; do
  ns="aic-n$n"
  ip netns add "$ns"
  ip link add "aic-v$n" type veth peer name eth0 netns "$ns"
  ip link set "aic-v$n" master "$BRIDGE" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.77.0.$n/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add default via 10.77.0.254
done
log "namespaces up: $(for n in "${NODES[@]}"; do ip -n "aic-n$n" -br addr show eth0 | awk '{printf "%s ", $3}'; done)"

# --- nodes ---------------------------------------------------------------------------------
step "nodes: $AIC serve in each namespace (workers $NODE_WORKERS, grace ${GRACE_MS} ms, drain ${DRAIN_SECONDS} s)"
cat >"$WORK/node.toml" <<EOF
[limits]
unready_grace_ms = $GRACE_MS
drain_seconds = $DRAIN_SECONDS
EOF
cp "$WORK/node.toml" "$ART/node.toml.txt"
# Nodes off loopback refuse to start without a token secret (docs/server.md, Security): one
# secret for the cluster, and an admin token minted from it for this script's requests.
AIC_AUTH_SECRET=$(head -c 32 /dev/urandom | base64)
export AIC_AUTH_SECRET
TOKEN=$("$AIC" token --grant admin --subject cluster-test --ttl 1h 2>/dev/null | tail -1)
AUTH="Authorization: Bearer $TOKEN"
peers=()
for n in "${NODES[@]}"; do peers+=(--peer "n$n=http://10.77.0.$n:8080"); done
for n in "${NODES[@]}"; do
  ip="10.77.0.$n"
  # `ip netns exec` execs the command: $! is the server's own pid.
  ip netns exec "aic-n$n" "$AIC" serve --config "$WORK/node.toml" \
    --http "$ip:8080" --grpc "$ip:8080" --admin "$ip:9090" --udp "$ip:50000" \
    --node-id "n$n" "${peers[@]}" --workers "$NODE_WORKERS" >"$ART/n$n.log" 2>&1 &
  PID[$n]=$!
  remember "${PID[$n]}"
done
for n in "${NODES[@]}"; do
  deadline=$(($(date +%s) + 120))
  until grep -q '^aic serve: http://' "$ART/n$n.log"; do
    if ! kill -0 "${PID[$n]}" 2>/dev/null; then
      echo "node n$n exited during start-up:" >&2; cat "$ART/n$n.log" >&2; exit 1
    fi
    [ "$(date +%s)" -lt "$deadline" ] || { echo "node n$n not ready after 120 s" >&2; exit 1; }
    sleep 0.5
  done
  # Reachable from the root namespace over the bridge?
  curl -sf --max-time 3 "http://10.77.0.$n:9090/livez" >/dev/null ||
    { echo "node n$n: admin 10.77.0.$n:9090/livez unreachable from the root namespace" >&2; exit 1; }
  log "n$n (pid ${PID[$n]}): $(grep -m1 '^aic serve: http://' "$ART/n$n.log")"
done

# --- haproxy -------------------------------------------------------------------------------
step "haproxy on 127.0.0.1:18080 (roundrobin, httpchk /readyz :9090 inter 300 fall 1 rise 2)"
cat >"$WORK/haproxy.cfg" <<EOF
global
    log stdout format raw local0
    maxconn 2000

defaults
    mode http
    log global
    option httplog
    # A CPU codec: a 512x512 compress takes ~0.05 s (release) to ~0.1 s (debug) on an idle
    # core, and waits for the node's worker behind the requests before it: seconds under load.
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout queue 10s
    retries 3
    # Redispatch to another server at every retry, not only the last.
    option redispatch 1
    # Retries need the whole request in HAProxy's buffer: bodies over tune.bufsize (16 kB,
    # e.g. a photo) are retried on connection failures only, not on empty responses.
    retry-on conn-failure empty-response

frontend aic_in
    bind 127.0.0.1:18080
    default_backend aic

backend aic
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header x-aic-server %s
    default-server check port 9090 inter 300 fall 1 rise 2
EOF
for n in "${NODES[@]}"; do
  echo "    server n$n 10.77.0.$n:8080" >>"$WORK/haproxy.cfg"
done
cat >>"$WORK/haproxy.cfg" <<EOF

frontend stats
    bind 127.0.0.1:18081
    stats enable
    stats uri /stats
EOF
cp "$WORK/haproxy.cfg" "$ART/haproxy.cfg"
haproxy -c -q -f "$WORK/haproxy.cfg"
haproxy -db -f "$WORK/haproxy.cfg" >"$ART/haproxy.log" 2>&1 &
HAPROXY_PID=$!
remember "$HAPROXY_PID"

# The status HAProxy gives server $1 (UP, DOWN, ...).
lb_status() { curl -s --max-time 2 "$STATS_URL" | awk -F, -v s="$1" '$1=="aic" && $2==s {print $18}'; }
deadline=$(($(date +%s) + 15))
for n in "${NODES[@]}"; do
  until [ "$(lb_status "n$n")" = UP ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "haproxy: n$n not UP" >&2; cat "$ART/haproxy.log" >&2; exit 1; }
    sleep 0.2
  done
done
log "haproxy (pid $HAPROXY_PID): n1 n2 n3 UP"

# --- helpers -------------------------------------------------------------------------------
# One compress through HAProxy; prints "ms code server seconds".
compress_once() {
  local out
  out=$(curl -s -o /dev/null --max-time 60 -X POST --data-binary "@$PHOTO" \
    -H 'content-type: image/png' -w '%{http_code} %header{x-aic-server} %{time_total}' \
    "$LB/v1/compress?quality=3") || true
  echo "$(ms_now) ${out:-000}"
}
# A client loop: compresses until $WORK/stop exists (or this script is gone), one line per
# request into $1.
MAIN_PID=$$
load_loop() {
  while [ ! -e "$WORK/stop" ] && kill -0 "$MAIN_PID" 2>/dev/null; do
    compress_once >>"$1"
  done
}
start_load() { # tag
  rm -f "$WORK/stop"
  LOAD_PIDS=()
  local i
  for i in $(seq 1 "$LOOPS"); do
    : >"$WORK/load-$1-$i.txt"
    load_loop "$WORK/load-$1-$i.txt" &
    LOAD_PIDS+=($!)
    remember $!
  done
}
stop_load() { # tag; sets LOAD_OK, LOAD_FAILED, LOAD_CODES
  touch "$WORK/stop"
  local p
  for p in "${LOAD_PIDS[@]}"; do wait "$p" || true; done
  LOAD_PIDS=()
  cat "$WORK"/load-"$1"-*.txt >"$ART/load-$1.txt"
  LOAD_OK=$(awk '$2=="200"' "$ART/load-$1.txt" | wc -l)
  LOAD_FAILED=$(awk '$2!="200"' "$ART/load-$1.txt" | wc -l)
  LOAD_CODES=$(awk '$2!="200" {print $2}' "$ART/load-$1.txt" | sort | uniq -c | awk '{printf "%s x%s ", $2, $1}')
}
frames_total() { # node op
  curl -s --max-time 5 "http://10.77.0.$1:9090/metrics" |
    awk -v op="$2" '$1=="aic_frames_total{op=\""op"\"}" {print $2}' | head -1
}
# The live (not closed) sessions of node $1, one "id frames_shown state" per line.
node_sessions() {
  curl -s --max-time 5 -H "$AUTH" "http://10.77.0.$1:8080/v1/sessions" |
    jq -r '.sessions[] | select(.state != "closed") | "\(.id) \(.frames_shown) \(.state)"' 2>/dev/null || true
}
# The stats of session $2 from base URL $1 (following a 307 to the owner), as
# "frames_shown packets frames_late frames_no_reference state", or "none (HTTP code)"; the raw
# answer is appended to $ART/session-stats.jsonl.
session_stats() {
  local body code
  # --location-trusted: the token goes with the 307 to the node that holds the session.
  body=$(curl -sL --location-trusted --max-time 5 -H "$AUTH" -w '\n%{http_code}' "$1/v1/sessions/$2") || true
  code=${body##*$'\n'}
  body=${body%$'\n'*}
  printf '%s %s %s %s\n' "$(date +%T.%3N)" "$1" "$code" "$body" >>"$ART/session-stats.jsonl"
  jq -er '"\(.frames_shown) \(.packets) \(.frames_late) \(.frames_no_reference) \(.state)"' <<<"$body" 2>/dev/null ||
    echo "none (HTTP ${code:-000})"
}
# Did frames_shown grow from "$1" to "$2" (session_stats answers)?
frames_grew() {
  local b a
  b=${1%% *} a=${2%% *}
  [[ "$b" =~ ^[0-9]+$ && "$a" =~ ^[0-9]+$ ]] && [ "$a" -gt "$b" ]
}
# "shown packets late no_ref state" -> a short text for the report.
brief() { awk '{ if ($1 == "none") print $0; else printf "shown %s, packets %s, late %s, no_ref %s, %s", $1, $2, $3, $4, $5 }' <<<"$1"; }

# --- a) spread -----------------------------------------------------------------------------
step "a) spread: 30 compress requests through haproxy (3 in parallel)"
t0=$(ms_now)
for i in 1 2 3; do
  ( for _ in $(seq 1 10); do compress_once; done ) >"$WORK/spread-$i.txt" &
  LOAD_PIDS+=($!)
done
for p in "${LOAD_PIDS[@]}"; do wait "$p"; done
LOAD_PIDS=()
t1=$(ms_now)
cat "$WORK"/spread-*.txt >"$ART/load-spread.txt"
ok=$(awk '$2=="200"' "$ART/load-spread.txt" | wc -l)
lat=$(awk '$2=="200" {s+=$4; n++} END {if (n) printf "%.2f", s/n; else print "-"}' "$ART/load-spread.txt")
per_node=""
spread_ok=1
for n in "${NODES[@]}"; do
  f=$(frames_total "$n" compress)
  per_node+="n$n=${f:-0} "
  [ "${f:-0}" -gt 0 ] || spread_ok=0
done
[ "$ok" -eq 30 ] || spread_ok=0
verdict "a) spread" "$spread_ok" "$ok/30 ok in $(((t1 - t0) / 1000)) s (mean ${lat} s/request); aic_frames_total{op=compress}: $per_node"

# --- b) ingest sessions --------------------------------------------------------------------
step "b) ingest: aic send --sessions 3 --seconds $SEND_SECONDS --fps 5 through haproxy"
nice -n "$SEND_NICE" "$AIC" send "$CLIP" --whip "$LB/v1/whip" --token "$TOKEN" --sessions 3 --seconds "$SEND_SECONDS" --fps 5 \
  >"$ART/send.jsonl" 2>"$ART/send.log" &
SEND_PID=$!
remember "$SEND_PID"
# Wait until 3 sessions are connected (the sender loads the model first), then ~5 s more.
deadline=$(($(date +%s) + 60))
while :; do
  live=0
  for n in "${NODES[@]}"; do
    live=$((live + $(node_sessions "$n" | awk '$3=="connected"' | wc -l)))
  done
  [ "$live" -ge 3 ] && break
  if ! kill -0 "$SEND_PID" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then break; fi
  sleep 0.5
done
T_SESSIONS=$(date +%s)
sleep 5
declare -A SESS=()   # node -> space-separated session ids
holders=""
total=0
showing=0
for n in "${NODES[@]}"; do
  node_sessions "$n" >"$WORK/sessions-n$n.txt"
  SESS[$n]=$(awk '{print $1}' "$WORK/sessions-n$n.txt" | xargs)
  c=$(wc -l <"$WORK/sessions-n$n.txt")
  total=$((total + c))
  showing=$((showing + $(awk '$2 > 0' "$WORK/sessions-n$n.txt" | wc -l)))
  holders+="n$n=$c "
  while read -r id fr st; do log "  n$n holds $id ($st, frames_shown $fr)"; done <"$WORK/sessions-n$n.txt"
done
verdict "b) sessions" "$([ "$total" -eq 3 ] && [ "$showing" -eq 3 ] && echo 1 || echo 0)" \
  "$total/3 live sessions, $showing showing frames, $(($(date +%s) - T_SESSIONS)) s after connecting; per node: $holders"

# A session GET on a node that does not own it: 307 to the owner.
redirect_ok=0
redirect_detail="no session to test"
for n in "${NODES[@]}"; do
  for id in ${SESS[$n]}; do
    other=$((n % 3 + 1))
    hdr=$(curl -s -o /dev/null --max-time 5 -H "$AUTH" -w '%{http_code} %{redirect_url}' "http://10.77.0.$other:8080/v1/sessions/$id")
    lb307=0
    for _ in 1 2 3 4 5 6; do
      c=$(curl -s -o /dev/null --max-time 5 -H "$AUTH" -w '%{http_code}' "$LB/v1/sessions/$id")
      [ "$c" = 307 ] && lb307=$((lb307 + 1))
    done
    redirect_detail="GET n$other/v1/sessions/$id -> $hdr; via haproxy $lb307/6 answered 307"
    [ "$hdr" = "307 http://10.77.0.$n:8080/v1/sessions/$id" ] && [ "$lb307" -ge 1 ] && redirect_ok=1
    break 2
  done
done
verdict "b) 307 to owner" "$redirect_ok" "$redirect_detail"

# --- c) kill -9 n3 under load --------------------------------------------------------------
step "c) kill: $LOOPS client loops; kill -9 n3; 5 s more"
declare -A BEFORE=()
for n in 1 2; do
  for id in ${SESS[$n]}; do BEFORE[$id]=$(session_stats "$LB" "$id"); done
done
start_load kill
sleep 2
t_kill=$(ms_now)
kill -KILL "${PID[3]}"
wait "${PID[3]}" 2>/dev/null || true
unset 'PID[3]'
log "killed n3"
sleep 5
stop_load kill
ok=$LOAD_OK failed=$LOAD_FAILED codes=$LOAD_CODES
in_window=$(awk -v t="$t_kill" '$2!="200" && $1>=t' "$ART/load-kill.txt" | wc -l)
# Each loop has at most one request in flight: at most $LOOPS can die with n3.
verdict "c) kill n3: requests" "$([ "$failed" -le "$LOOPS" ] && echo 1 || echo 0)" \
  "$ok ok, $failed failed (${codes:-none}; $in_window after the kill) with $LOOPS loops over 7 s"
sess_ok=1
sess_detail=""
checked=0
for n in 1 2; do
  for id in ${SESS[$n]}; do
    after=$(session_stats "$LB" "$id")
    sess_detail+="$id: $(brief "${BEFORE[$id]}") -> $(brief "$after"); "
    checked=$((checked + 1))
    frames_grew "${BEFORE[$id]}" "$after" || sess_ok=0
  done
done
[ "$checked" -gt 0 ] || { sess_ok=0; sess_detail="no session on n1/n2 to check"; }
verdict "c) kill n3: sessions on n1/n2 keep showing frames (GET via haproxy -L)" "$sess_ok" "$sess_detail"

# --- d) drain n2 under load ----------------------------------------------------------------
step "d) drain: $LOOPS client loops; SIGTERM n2"
declare -A D_BEFORE=()
for id in ${SESS[1]}; do D_BEFORE[$id]=$(session_stats http://10.77.0.1:8080 "$id"); done
t_drain_load=$(ms_now)
start_load drain
sleep 2
t_term=$(ms_now)
kill -TERM "${PID[2]}"
n2_pid=${PID[2]}
declare -A D_AFTER=()
first_ready="" ready_503=0 ready_200=0 ready_other=0 lb_down_ms="" exit_ms="" n1_after_done=0
# A signal is delivered asynchronously: a probe sent in the same millisecond as the SIGTERM
# may still be answered 200. So the check is: unready within UNREADY_MS of the signal, and
# never ready again once unready.
UNREADY_MS=500 unready_ms="" ready_after_unready=0
admin_gone_ms=""
while kill -0 "$n2_pid" 2>/dev/null; do
  r=$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' "http://10.77.0.2:9090/readyz") || true
  [ -n "$first_ready" ] || first_ready="$r"
  case "$r" in
    503)
      ready_503=$((ready_503 + 1))
      [ -n "$unready_ms" ] || unready_ms=$(($(ms_now) - t_term))
      ;;
    200)
      ready_200=$((ready_200 + 1))
      [ -z "$unready_ms" ] || ready_after_unready=$((ready_after_unready + 1))
      ;;
    *)
      ready_other=$((ready_other + 1))
      [ -n "$admin_gone_ms" ] || admin_gone_ms=$(($(ms_now) - t_term))
      ;;
  esac
  if [ -z "$lb_down_ms" ] && [ "$(lb_status n2)" != UP ]; then lb_down_ms=$(($(ms_now) - t_term)); fi
  # Sessions on n1 a few seconds into the drain (before the sender's own end).
  if [ "$n1_after_done" -eq 0 ] && [ $(($(ms_now) - t_term)) -ge $((GRACE_MS + 2000)) ]; then
    for id in ${SESS[1]}; do D_AFTER[$id]=$(session_stats http://10.77.0.1:8080 "$id"); done
    n1_after_done=1
  fi
  [ $(($(ms_now) - t_term)) -lt $(((DRAIN_SECONDS + 5) * 1000)) ] || break
  sleep 0.2
done
if kill -0 "$n2_pid" 2>/dev/null; then
  n2_rc="still running"
else
  exit_ms=$(($(ms_now) - t_term))
  n2_rc=0
  wait "$n2_pid" || n2_rc=$?
  unset 'PID[2]'
fi
sleep 1
stop_load drain
ok=$LOAD_OK failed=$LOAD_FAILED codes=$LOAD_CODES
verdict "d) drain n2: requests" "$([ "$failed" -eq 0 ] && echo 1 || echo 0)" \
  "$ok ok, $failed failed (${codes:-none}) with $LOOPS loops over $((($(ms_now) - t_drain_load) / 1000)) s"
verdict "d) drain n2: /readyz" \
  "$([ -n "$unready_ms" ] && [ "$unready_ms" -le "$UNREADY_MS" ] && [ "$ready_after_unready" -eq 0 ] && echo 1 || echo 0)" \
  "first answer after SIGTERM $first_ready; 503 after ${unready_ms:-never} ms (limit $UNREADY_MS); 503 x$ready_503, 200 x$ready_200 ($ready_after_unready after the first 503), other x$ready_other; haproxy saw n2 ${lb_down_ms:+not UP after $lb_down_ms ms}"
# Within drain_seconds, with 0.5 s for this loop's 0.2 s polling and the process's exit.
exit_ok=0
[ -n "$exit_ms" ] && [ "$exit_ms" -le $((DRAIN_SECONDS * 1000 + 500)) ] && [ "$n2_rc" = 0 ] && exit_ok=1
verdict "d) drain n2: exit" "$exit_ok" "exited ${exit_ms:-never} ms after SIGTERM (drain_seconds $DRAIN_SECONDS${admin_gone_ms:+; admin closed at $admin_gone_ms ms}), status $n2_rc; n2 said: $(grep -E '^aic serve: (drain|stopped)' "$ART/n2.log" | tr '\n' '|')"
d_ok=1
d_detail=""
for id in ${SESS[1]}; do
  b=${D_BEFORE[$id]:-none} a=${D_AFTER[$id]:-none}
  d_detail+="$id: $(brief "$b") -> $(brief "$a"); "
  frames_grew "$b" "$a" || d_ok=0
done
[ -n "${SESS[1]}" ] || { d_ok=0; d_detail="no session on n1 to check"; }
verdict "d) drain n2: sessions on n1 keep showing frames" "$d_ok" "$d_detail"

# --- the sender ----------------------------------------------------------------------------
step "sender"
deadline=$((T_SESSIONS + SEND_SECONDS + 30))
while kill -0 "$SEND_PID" 2>/dev/null && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
send_rc=0
if kill -0 "$SEND_PID" 2>/dev/null; then
  send_rc="still running"
else
  wait "$SEND_PID" || send_rc=$?
fi
SEND_PID=""
# A session with packets dropped at the sender and no feedback never got its data through.
jq -r '"  \(.session): connect \(.connect_ms|floor) ms, \(.frames_sent) frames, \(.packets_sent) packets (\(.packets_dropped) dropped), \(.kbps|floor) kbps, \(.key_requests) key requests, \(.feedback) feedback\(if .feedback == 0 then " <- no feedback: stalled" else "" end)"' "$ART/send.jsonl" 2>/dev/null || true
sed 's/^/  /' "$ART/send.log"
log "aic send: exit $send_rc, $(wc -l <"$ART/send.jsonl") sessions reported (sessions on n3 are expected to fail)"

# --- summary -------------------------------------------------------------------------------
step "summary ($(($(date +%s) - T_START)) s; logs in $ART)"
# HAProxy's log (option httplog): $6 the status, $11 "act/fe/be/srv/retries" ("+N": redispatched).
log "haproxy: $(awk '$3 == "aic_in" {n++; split($11, c, "/"); if (c[5] != "0") r++; if (c[5] ~ /^[+]/) d++; if ($6 ~ /^5/) e++}
  END {printf "%d requests, %d retried (%d redispatched), %d answered 5xx", n, r, d, e}' "$ART/haproxy.log")"
printf '%s\n' "${RESULTS[@]}" | tee "$ART/summary.txt"
if [ "$FAILED" -gt 0 ]; then
  echo "$FAILED check(s) FAILED"
  exit 1
fi
echo "all checks passed"
