#!/usr/bin/env bash
# HTTP throughput (not a test): the product as users run it — `pxe-desk serve --mode files` on loopback,
# session, timeline and live view included — beside nginx serving the same folder, in the same run, printed
# as ratios. A second, labelled line is the bare engine (bench/http-serve.ts, HttpBootServer alone).
#
# One 256 MiB random file; REPS rounds (default 5), each round downloading it with 1 and with 16 parallel
# `curl -o /dev/null` from every server in turn (the order rotates per round so drift in the shared box's
# load does not always favour the same server). Per server and stream count: MB/s median [min–max], the
# ratio to nginx taken within each round (median [min–max]), and the server's CPU seconds per GB
# (utime+stime of the server and its children, /proc/PID/stat).
#
# Usage: bash bench/http-bench.sh   (env: REPS=5 STREAMS="1 16" SERVERS="nginx pxe-desk engine"
#        PXE_DESK=bin/pxe-desk.js (another build's launcher) BASELINE=OTHER/bin/pxe-desk.js (adds a 'baseline'
#        row: that build served the same way, for before/after in one run) NODE_FLAGS=… (e.g. --cpu-prof)
#        CHUNK=BYTES read size of the engine row (its default otherwise) LOGDIR=DIR keeps the servers' output;
#        ALLOW_STALE=1 runs even when dist/ is older than app/).
# Needs nginx and curl (bash bench/setup.sh installs them; nginx is only ever started here, in the
# foreground on 127.0.0.1, and stopped by PID) and a build (`npm run build`). Every server is first checked
# to send the whole file, byte for byte. The machine may be shared: read the ratios, not the absolute MB/s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib-http.sh
. bench/lib-http.sh
REPS=${REPS:-5}
read -r -a STREAMS <<<"${STREAMS:-1 16}"
read -r -a SERVERS <<<"${SERVERS:-nginx pxe-desk engine${BASELINE:+ baseline}}"
PXE_DESK=${PXE_DESK:-bin/pxe-desk.js}
declare -A PORT=([nginx]=18481 [pxe-desk]=18482 [engine]=18483 [baseline]=18485)
TFTP_PORT=18484 # the product's TFTP server, idle here (files mode on loopback)
WORK=$(mktemp -d /tmp/pxe-http-bench.XXXXXX)
declare -A PID=()
trap bench_cleanup EXIT

bench_need nginx curl node
bench_check_build "$PXE_DESK"
# The bare engine bundled to one plain JS file, so no TypeScript loader sits in the measured process.
node_modules/.bin/esbuild bench/http-serve.ts --bundle --platform=node --format=esm \
  --outfile="$WORK/http-serve.mjs" --log-level=warning

chmod 755 "$WORK" # nginx workers run as nobody when started by root
mkdir -p "$WORK/root"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$WORK/root/file.bin"
chmod 644 "$WORK/root/file.bin"
SIZE=$(stat -c %s "$WORK/root/file.bin")
SUM=$(sha256sum <"$WORK/root/file.bin" | cut -d' ' -f1)
nginx_conf "$WORK/root"

start() {
  local s=$1
  case $s in
    nginx) "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 & ;;
    # shellcheck disable=SC2086 # NODE_FLAGS is a list of flags
    pxe-desk) $(product_cmd "$PXE_DESK") serve --mode files --address 127.0.0.1 \
      --http-port "${PORT[pxe-desk]}" --tftp-port "$TFTP_PORT" --root "$WORK/root" >"$WORK/pxe-desk.log" 2>&1 & ;;
    # shellcheck disable=SC2086
    baseline) node ${NODE_FLAGS:-} "$BASELINE" serve --mode files --address 127.0.0.1 \
      --http-port "${PORT[baseline]}" --tftp-port 18486 --root "$WORK/root" >"$WORK/baseline.log" 2>&1 & ;;
    # shellcheck disable=SC2086
    engine) node ${NODE_FLAGS:-} "$WORK/http-serve.mjs" "$WORK/root" "${PORT[engine]}" ${CHUNK:-} >"$WORK/engine.log" 2>&1 & ;;
    *) echo "unknown server $s" >&2; exit 1 ;;
  esac
  PID[$s]=$!
}

for s in "${SERVERS[@]}"; do start "$s"; done
for s in "${SERVERS[@]}"; do await_server "$s" "http://127.0.0.1:${PORT[$s]}/file.bin" "$SUM" file; done
echo "servers: ${SERVERS[*]}; pxe-desk = $(product_cmd "$PXE_DESK") serve --mode files --address 127.0.0.1 --http-port ${PORT[pxe-desk]} --tftp-port $TFTP_PORT --root DIR"

# One batch: N parallel full downloads; prints "MB/s cpu-s-per-GB", or "0 0" when a download came up short.
batch() {
  local s=$1 n=$2 t0 t1 c0 c1 cp=() i bad=0
  c0=$(cpu_ticks "${PID[$s]}")
  t0=$(date +%s.%N)
  for i in $(seq "$n"); do
    curl -sf -o /dev/null -w '%{size_download}\n' "http://127.0.0.1:${PORT[$s]}/file.bin" >"$WORK/got.$i" &
    cp+=($!)
  done
  for i in "${!cp[@]}"; do wait "${cp[$i]}" || bad=1; done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${PID[$s]}")
  for i in $(seq "$n"); do [ "$(cat "$WORK/got.$i")" = "$SIZE" ] || bad=1; done
  if [ "$bad" = 1 ]; then echo "0 0"; return; fi
  awk -v b="$((SIZE * n))" -v t="$(echo "$t1 - $t0" | bc -l)" -v c="$((c1 - c0))" -v hz="$HZ" \
    'BEGIN { printf "%.0f %.2f\n", b / t / 1e6, (c / hz) / (b / 1e9) }'
}

TSV=$WORK/http.tsv
for rep in $(seq "$REPS"); do
  rotate_servers "$rep"
  for n in "${STREAMS[@]}"; do
    for s in "${order[@]}"; do
      read -r mbs cpu < <(batch "$s" "$n")
      printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$n" "$s" "$mbs" "$cpu" >>"$TSV"
      printf 'rep %s streams=%-2s %-8s %6s MB/s  cpu %s s/GB\n' "$rep" "$n" "$s" "$mbs" "$cpu"
    done
  done
done

echo
echo "median [min-max] of $REPS rounds; ratio = server / nginx within each round"
summary "$TSV" streams 8 9
