#!/usr/bin/env bash
# TFTP benchmark (not a test): PXE Desk's engine beside tftpd-hpa, dnsmasq (its TFTP server) and atftpd,
# all in the same run, printed as ratios. Everything runs inside a private network namespace created
# and removed here (its own loopback only), which is also what lets dnsmasq use its fixed port 69
# without touching this machine's port 69.
#
#   1. single client (atftp), 32 MiB, blksize 512 / 1468 / 8192 lockstep and 1468 with windowsize
#      4 / 16 / 64, MB/s median of REPS (default 3), plus server CPU ms per MB;
#   2. CONC (default 200) parallel atftp clients (blksize 1468, no windowsize, like a PXE ROM), 4 MiB
#      each: aggregate MB/s median of REPS and the server's peak memory (RSS high-water mark of the
#      process, or the summed RSS of its process tree for the forking tftpd-hpa, sampled every 50 ms).
#
# Usage: sudo bash bench/tftp-bench.sh   (env: REPS=3 CONC=200 SKIP_SINGLE=1 SKIP_CONC=1 CASES="512 ws16" SINGLE_SERVERS=… CONC_SERVERS=…)
# Every download is cmp-checked against the source file; a failed or corrupt download counts as 0.
# The machine is shared: read the ratios, not the absolute numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
CONC=${CONC:-200}
NS=pxd-tftpb-$$
WORK=$(mktemp -d /tmp/pxe-tftp-bench.XXXXXX)
HPA_CACHE=${HPA_CACHE:-/tmp/pxe-desk-bench-tftpd-hpa}
declare -A PID=()
# pxe-desk runs as a session on Linux runs it: the native data path (native-tftp/, pxe-desk-tftp) does
# every transfer's data phase. pxe-desk-node is the engine without it (workers 'auto': beyond 16
# concurrent transfers, new ones go to two worker threads); pxe-desk-w0 pins everything to the main
# thread. Ratios are pxe-desk's.
# (SINGLE_SERVERS / CONC_SERVERS override the lists for quick comparisons; ratios need their peers in.)
read -r -a SINGLE <<<"${SINGLE_SERVERS:-pxe-desk pxe-desk-node tftpd-hpa dnsmasq atftpd}"
read -r -a CONCURRENT <<<"${CONC_SERVERS:-pxe-desk pxe-desk-node pxe-desk-w0 tftpd-hpa dnsmasq atftpd}"
SERVERS=("${SINGLE[@]}")
declare -A PORT=([pxe-desk]=16969 [pxe-desk-node]=16973 [pxe-desk-w0]=16972 [tftpd-hpa]=16970 [dnsmasq]=69 [atftpd]=16971)

inns() { ip netns exec "$NS" "$@"; }
stop_servers() {
  local s
  for s in "${!PID[@]}"; do
    kill "${PID[$s]}" 2>/dev/null || true
    wait "${PID[$s]}" 2>/dev/null || true
    unset "PID[$s]"
  done
}
cleanup() {
  stop_servers
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "needs root (network namespace, atftpd/tftpd-hpa user switch)" >&2; exit 1; }
for tool in atftp atftpd dnsmasq node ss; do
  command -v "$tool" >/dev/null || { echo "missing $tool (bash scripts/setup-system.sh)" >&2; exit 1; }
done
# tftpd-hpa conflicts with atftpd as a Debian package: unpack its binary once, never install it.
if [ ! -x "$HPA_CACHE/usr/sbin/in.tftpd" ]; then
  mkdir -p "$HPA_CACHE"
  (cd "$HPA_CACHE" && apt-get download tftpd-hpa >/dev/null 2>&1 && dpkg -x tftpd-hpa_*.deb .)
fi
HPA=$HPA_CACHE/usr/sbin/in.tftpd

# The engine bundled to one plain JS file, so no TypeScript loader sits in the measured process.
node_modules/.bin/esbuild bench/tftp-serve.ts --bundle --platform=node --format=esm \
  --outfile="$WORK/serve.mjs" --log-level=warning
# The worker thread entry sits next to it, as transfer-worker.js does next to index.js in dist/.
node_modules/.bin/esbuild app/engines/tftp/transfer-worker.ts --bundle --platform=node --format=cjs \
  --outfile="$WORK/transfer-worker.js" --log-level=warning
# The native data path, built from the same tree (as scripts/build.mjs does).
(cd native-tftp && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local GOPROXY=off go build -trimpath \
  -ldflags='-s -w' -o "$WORK/pxe-desk-tftp" .)

ip netns add "$NS"
inns ip link set lo up
# tftpd-hpa resolves its bind address with AI_ADDRCONFIG, which ignores loopback: give the namespace
# one non-loopback IPv4 address (a veth pair whose both ends stay inside it; RFC 2544 bench range).
inns ip link add pxdb0 type veth peer name pxdb1
inns ip addr add 198.18.255.1/32 dev pxdb0
inns ip link set pxdb0 up
ROOT=$WORK/root
mkdir -p "$ROOT" "$WORK/out"
head -c $((32 * 1024 * 1024)) /dev/urandom >"$ROOT/f32m"
head -c $((4 * 1024 * 1024)) /dev/urandom >"$ROOT/f4m"
chmod 755 "$WORK" "$ROOT" && chmod 644 "$ROOT"/f* # tftpd-hpa and atftpd drop to nobody

start_server() {
  local s=$1
  case $s in
    pxe-desk) ip netns exec "$NS" node "$WORK/serve.mjs" "$ROOT" "${PORT[$s]}" auto "$WORK/pxe-desk-tftp" >"$WORK/$s.log" 2>&1 & ;;
    pxe-desk-node) ip netns exec "$NS" node "$WORK/serve.mjs" "$ROOT" "${PORT[$s]}" auto off >"$WORK/$s.log" 2>&1 & ;;
    pxe-desk-w0) ip netns exec "$NS" node "$WORK/serve.mjs" "$ROOT" "${PORT[$s]}" 0 off >"$WORK/$s.log" 2>&1 & ;;
    tftpd-hpa) ip netns exec "$NS" "$HPA" -L -s -u nobody -a "127.0.0.1:${PORT[$s]}" "$ROOT" >"$WORK/$s.log" 2>&1 & ;;
    # Caps raised so CONC clients are not refused by configuration (defaults: dnsmasq 50, atftpd 100).
    dnsmasq) ip netns exec "$NS" dnsmasq -k --conf-file=/dev/null --port=0 --enable-tftp --tftp-root="$ROOT" \
      --listen-address=127.0.0.1 --bind-interfaces --tftp-max=$((CONC + 100)) --quiet-tftp \
      --log-facility=/dev/null >"$WORK/$s.log" 2>&1 & ;;
    atftpd) ip netns exec "$NS" atftpd --daemon --no-fork --port "${PORT[$s]}" --bind-address 127.0.0.1 --user nobody \
      --group nogroup --logfile /dev/null -m $((CONC + 100)) "$ROOT" >"$WORK/$s.log" 2>&1 & ;;
  esac
  PID[$s]=$! # ip netns exec execs the server, so this is the server's own PID
}
start_all() {
  local s
  for s in "${SERVERS[@]}"; do start_server "$s"; done
  local missing
  for _ in $(seq 300); do
    missing=""
    for s in "${SERVERS[@]}"; do inns ss -uln | grep -q "127.0.0.1:${PORT[$s]} " || missing="$missing $s"; done
    [ -z "$missing" ] && return 0
    sleep 0.1
  done
  echo "did not start:$missing" >&2
  tail -n 3 "$WORK"/*.log >&2
  exit 1
}

tree() { local p=$1 c; echo "$p"; for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree "$c"; done; }
# CPU seconds of a process tree including reaped children (tftpd-hpa forks one per transfer; PXE Desk's
# native data path is a live child).
cpu_of() {
  local p
  for p in $(tree "$1"); do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk -v hz="$(getconf CLK_TCK)" '{s += $14 + $15 + $16 + $17} END{printf "%.3f", s / hz}'
}
rss_tree() {
  local s=0 p r
  for p in $(tree "$1"); do r=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || true); s=$((s + ${r:-0})); done
  echo $s
}
# RSS high-water mark of a process tree (kB): the engine plus its native data path.
hwm() {
  local s=0 p r
  for p in $(tree "$1"); do r=$(awk '/^VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null || true); s=$((s + ${r:-0})); done
  echo $s
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "-" }'; }
now() { date +%s.%N; }

# one download: prints "MB/s cpu_ms_per_MB" (0 when it failed or the bytes differ)
one() {
  local s=$1 file=$2; shift 2
  local out=$WORK/out/one t0 t1 c0 c1 size
  size=$(stat -c %s "$ROOT/$file")
  rm -f "$out"
  c0=$(cpu_of "${PID[$s]}")
  t0=$(now)
  inns timeout 120 atftp "$@" -g -r "$file" -l "$out" 127.0.0.1 "${PORT[$s]}" >/dev/null 2>&1 || true
  t1=$(now)
  c1=$(cpu_of "${PID[$s]}")
  if cmp -s "$out" "$ROOT/$file"; then
    awk -v n="$size" -v a="$t0" -v b="$t1" -v c0="$c0" -v c1="$c1" \
      'BEGIN{printf "%.1f %.1f\n", n/1048576/(b-a), (c1-c0)*1000/(n/1048576)}'
  else echo "0 0"; fi
}

if [ "${SKIP_SINGLE:-0}" != 1 ]; then
  start_all
  echo "== single client, 32 MiB, atftp client, MB/s median of $REPS [server CPU ms/MB]"
  printf '%-18s' case
  for s in "${SERVERS[@]}"; do printf '%18s' "$s"; done
  printf '%11s%11s%11s\n' /tftpd-hpa /dnsmasq /atftpd
  for c in ${CASES:-512 1468 8192 ws4 ws16 ws64}; do
    case $c in
      ws*) opts=(--option "tsize 0" --option "blksize 1468" --option "windowsize ${c#ws}") ;;
      *) opts=(--option "tsize 0" --option "blksize $c") ;;
    esac
    declare -A rate=() cpu=()
    for _ in $(seq "$REPS"); do
      # Interleaved (rep outer, server inner) so load drift on the shared machine hits all alike.
      for s in "${SERVERS[@]}"; do
        # Windowed rows only for servers that grant windowsize (RFC 7440): tftpd-hpa and dnsmasq
        # ignore the option and atftp then runs an erratic lockstep that says nothing about them.
        if [[ $c == ws* && ($s == tftpd-hpa || $s == dnsmasq) ]]; then continue; fi
        read -r r u < <(one "$s" f32m "${opts[@]}")
        rate[$s]="${rate[$s]:-} $r"
        cpu[$s]="${cpu[$s]:-} $u"
      done
    done
    label=$c
    case $c in ws*) label="1468 windowsize ${c#ws}" ;; *) label="$c lockstep" ;; esac
    printf '%-18s' "$label"
    declare -A med=()
    for s in "${SERVERS[@]}"; do
      if [ -z "${rate[$s]:-}" ]; then
        med[$s]=""
        printf '%18s' "(no windowsize)"
        continue
      fi
      # shellcheck disable=SC2086
      med[$s]=$(median ${rate[$s]})
      # tftpd-hpa serves from forked children whose CPU this per-process counter does not see.
      # shellcheck disable=SC2086
      if [ "$s" = tftpd-hpa ]; then u=-; else u=$(median ${cpu[$s]}); fi
      printf '%18s' "${med[$s]} [$u]"
    done
    for peer in tftpd-hpa dnsmasq atftpd; do
      if [ -n "${med[$peer]}" ]; then printf '%11s' "$(ratio "${med[pxe-desk]}" "${med[$peer]}")"; else printf '%11s' "-"; fi
    done
    echo
    unset rate cpu med
  done
  stop_servers
fi

if [ "${SKIP_CONC:-0}" != 1 ]; then
  SERVERS=("${CONCURRENT[@]}")
  echo "== $CONC parallel atftp clients (blksize 1468, lockstep), 4 MiB each: aggregate MB/s median of $REPS, peak RSS MB, failed"
  declare -A agg=() peak=() failed=()
  for _ in $(seq "$REPS"); do
    for s in "${SERVERS[@]}"; do
      start_all # fresh servers: the high-water mark then belongs to this phase alone
      pid=${PID[$s]}
      echo 0 >"$WORK/peak"
      (
        max=0
        while kill -0 "$pid" 2>/dev/null; do
          r=$(rss_tree "$pid")
          [ "$r" -gt "$max" ] && max=$r && echo "$max" >"$WORK/peak"
          sleep 0.05
        done
      ) &
      sampler=$!
      rm -rf "$WORK/conc" && mkdir -p "$WORK/conc"
      t0=$(now)
      cpids=()
      for i in $(seq "$CONC"); do
        ip netns exec "$NS" timeout 180 atftp --option "blksize 1468" -g -r f4m -l "$WORK/conc/$i" 127.0.0.1 "${PORT[$s]}" \
          >/dev/null 2>&1 &
        cpids+=($!)
      done
      wait "${cpids[@]}" 2>/dev/null || true
      t1=$(now)
      high=$(hwm "$pid")
      kill "$sampler" 2>/dev/null || true
      wait "$sampler" 2>/dev/null || true
      sampled=$(cat "$WORK/peak")
      [ "$sampled" -gt "$high" ] && high=$sampled
      bad=0
      for i in $(seq "$CONC"); do cmp -s "$WORK/conc/$i" "$ROOT/f4m" || bad=$((bad + 1)); done
      ok=$((CONC - bad))
      agg[$s]="${agg[$s]:-} $(awk -v n=$ok -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n*4/(b-a)}')"
      peak[$s]="${peak[$s]:-} $(awk -v k="$high" 'BEGIN{printf "%.1f", k/1024}')"
      failed[$s]="${failed[$s]:-} $bad"
      stop_servers
    done
  done
  printf '%-13s %12s %12s %10s %14s %14s\n' server 'agg MB/s' 'peak RSS MB' 'failed' 'pxe-desk/this' 'node/this'
  # shellcheck disable=SC2086
  ours=$(median ${agg[pxe-desk]})
  # shellcheck disable=SC2086
  ours2=$(median ${agg[pxe-desk-node]})
  for s in "${SERVERS[@]}"; do
    # shellcheck disable=SC2086
    a=$(median ${agg[$s]})
    # shellcheck disable=SC2086
    printf '%-13s %12s %12s %10s %14s %14s\n' "$s" "$a" "$(median ${peak[$s]})" "$(echo ${failed[$s]} | tr ' ' ,)" \
      "$(ratio "$ours" "$a")" "$(ratio "$ours2" "$a")"
  done
fi
