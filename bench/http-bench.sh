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
REPS=${REPS:-5}
read -r -a STREAMS <<<"${STREAMS:-1 16}"
read -r -a SERVERS <<<"${SERVERS:-nginx pxe-desk engine${BASELINE:+ baseline}}"
PXE_DESK=${PXE_DESK:-bin/pxe-desk.js}
declare -A PORT=([nginx]=18481 [pxe-desk]=18482 [engine]=18483 [baseline]=18485)
TFTP_PORT=18484 # the product's TFTP server, idle here (files mode on loopback)
WORK=$(mktemp -d /tmp/pxe-http-bench.XXXXXX)
declare -A PID=()
cleanup() {
  local s
  for s in "${!PID[@]}"; do
    kill "${PID[$s]}" 2>/dev/null || true
    wait "${PID[$s]}" 2>/dev/null || true
  done
  if [ -n "${LOGDIR:-}" ]; then mkdir -p "$LOGDIR" && cp "$WORK"/*.log "$LOGDIR"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

for tool in nginx curl node; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
    echo "missing $tool (bash bench/setup.sh)" >&2
    exit 1
  }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
entry=$(dirname "$PXE_DESK")/../dist/app/cli/main.js
[ -f "$entry" ] || { echo "no build at $entry: npm run build first" >&2; exit 1; }
if [ -z "${ALLOW_STALE:-}" ] && [ -n "$(find app -name '*.ts' -newer "$entry" -not -path 'app/shell/*' -print -quit)" ]; then
  echo "$entry is older than app/ sources: npm run build first (or ALLOW_STALE=1)" >&2
  exit 1
fi
# The bare engine bundled to one plain JS file, so no TypeScript loader sits in the measured process.
node_modules/.bin/esbuild bench/http-serve.ts --bundle --platform=node --format=esm \
  --outfile="$WORK/http-serve.mjs" --log-level=warning

chmod 755 "$WORK" # nginx workers run as nobody when started by root
mkdir -p "$WORK/root" "$WORK/nginx/logs" "$WORK/nginx/tmp"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$WORK/root/file.bin"
chmod 644 "$WORK/root/file.bin"
SIZE=$(stat -c %s "$WORK/root/file.bin")
SUM=$(sha256sum <"$WORK/root/file.bin" | cut -d' ' -f1)
cat >"$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  server { listen 127.0.0.1:${PORT[nginx]}; root $WORK/root; }
}
CONF

start() {
  local s=$1
  case $s in
    nginx) "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 & ;;
    # shellcheck disable=SC2086 # NODE_FLAGS is a list of flags
    pxe-desk) node ${NODE_FLAGS:-} "$PXE_DESK" serve --mode files --address 127.0.0.1 \
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
# CPU ticks of a server and its children (nginx's worker is a child of its master).
cpu_ticks() {
  local t=0 p
  for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do
    t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
HZ=$(getconf CLK_TCK)

for s in "${SERVERS[@]}"; do start "$s"; done
for s in "${SERVERS[@]}"; do
  ok=
  for _ in $(seq 100); do
    curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:${PORT[$s]}/file.bin" && { ok=1; break; }
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "$s did not start: $(tail -3 "$WORK/$s.log")" >&2; exit 1; }
  # The whole file, byte for byte (also warms the page cache and a JIT).
  got=$(curl -sf "http://127.0.0.1:${PORT[$s]}/file.bin" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$SUM" ] || { echo "$s sent a different file" >&2; exit 1; }
done
echo "servers: ${SERVERS[*]}; pxe-desk = node $PXE_DESK serve --mode files --address 127.0.0.1 --http-port ${PORT[pxe-desk]} --tftp-port $TFTP_PORT --root DIR"

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
  # Rotate the order each round.
  order=("${SERVERS[@]:$(((rep - 1) % ${#SERVERS[@]}))}" "${SERVERS[@]:0:$(((rep - 1) % ${#SERVERS[@]}))}")
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
awk -F'\t' '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
  function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
  { v[$2, $3, $1] = $4; c[$2, $3, $1] = $5; reps[$1] = 1; if (!(($2, $3) in seen)) { seen[$2, $3] = 1; keys[++k] = $2 SUBSEP $3 } }
  END {
    printf "%-8s %-9s %-22s %-20s %s\n", "streams", "server", "MB/s", "ratio to nginx", "cpu s/GB"
    for (i = 1; i <= k; i++) {
      split(keys[i], kk, SUBSEP); n = kk[1]; s = kk[2]
      m = 0; r = 0; q = 0; delete a; delete b; delete d
      for (rep in reps) {
        if ((n, s, rep) in v) { a[++m] = v[n, s, rep]; d[++q] = c[n, s, rep] }
        if ((n, s, rep) in v && (n, "nginx", rep) in v && v[n, "nginx", rep] > 0) b[++r] = v[n, s, rep] / v[n, "nginx", rep]
      }
      printf "%-8s %-9s %5.0f [%5.0f-%5.0f]    ", n, s, med(a, m), lo(a, m), hi(a, m)
      if (r > 0 && s != "nginx") printf "%4.2f [%4.2f-%4.2f]     ", med(b, r), lo(b, r), hi(b, r); else printf "%-20s ", "-"
      printf "%5.2f\n", med(d, q)
    }
  }' "$TSV"
