#!/bin/bash
# HTTP throughput: PXE Desk HttpBootServer vs nginx on loopback, 256 MiB file, 1 and 16 streams.
# Not a test; prints MB/s and ratios. Usage: bash bench/http-bench.sh  (ROUNDS=3 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
NGINX_PORT=${NGINX_PORT:-18481}
NODE_PORT=${NODE_PORT:-18482}
CHUNK=${CHUNK:-1048576}
tmp=$(mktemp -d /tmp/pxe-http-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
chmod 755 "$tmp" # nginx workers run as nobody when started by root
mkdir -p "$tmp/root" "$tmp/nginx/logs"
head -c $((256 * 1024 * 1024)) /dev/urandom > "$tmp/root/file.bin"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $tmp/nginx/tmp;
  proxy_temp_path $tmp/nginx/tmp;
  fastcgi_temp_path $tmp/nginx/tmp;
  uwsgi_temp_path $tmp/nginx/tmp;
  scgi_temp_path $tmp/nginx/tmp;
  server { listen 127.0.0.1:$NGINX_PORT; root $tmp/root; }
}
CONF
nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" & pids+=($!)
node --import tsx bench/http-serve.ts "$tmp/root" "$NODE_PORT" "$CHUNK" > "$tmp/node.log" & pids+=($!)
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/file.bin" -r 0-0 && curl -sf -o /dev/null "http://127.0.0.1:$NODE_PORT/file.bin" -r 0-0 && break
  sleep 0.2
done
size=$(stat -c %s "$tmp/root/file.bin")
for port in "$NGINX_PORT" "$NODE_PORT"; do
  got=$(curl -sf -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port/file.bin")
  [ "$got" = "$size" ] || { echo "server on $port sent $got of $size bytes" >&2; exit 1; }
done
# MB/s for N parallel full downloads (best of ROUNDS).
run() {
  local port=$1 n=$2 best=0
  for _ in $(seq "$ROUNDS"); do
    local t0 t1
    t0=$(date +%s.%N)
    local cp=()
    for _ in $(seq "$n"); do curl -sf -o /dev/null "http://127.0.0.1:$port/file.bin" & cp+=($!); done
    wait "${cp[@]}"
    t1=$(date +%s.%N)
    local r
    r=$(echo "$size * $n / ($t1 - $t0) / 1000000" | bc -l)
    best=$(echo "if ($r > $best) $r else $best" | bc -l)
  done
  printf '%.0f' "$best"
}
for n in 1 16; do
  ng=$(run "$NGINX_PORT" "$n")
  nd=$(run "$NODE_PORT" "$n")
  printf 'streams=%-2s nginx=%6s MB/s  pxe-desk=%6s MB/s  ratio=%.2f\n' "$n" "$ng" "$nd" "$(echo "$nd / $ng" | bc -l)"
done
