# shellcheck shell=bash
# What the HTTP benchmarks (bench/http-bench.sh, bench/iso-http-bench.sh) share; sourced, never run. The
# caller sets WORK (its temporary folder), declares the associative arrays PID (server -> PID) and PORT, and
# uses `set -euo pipefail`. nginx is only ever started in the foreground on 127.0.0.1 and stopped by PID.

# Stops every server by PID (a PID that serves under two names is stopped once), keeps the servers' output
# in LOGDIR when set, removes WORK. For `trap bench_cleanup EXIT`.
bench_cleanup() {
  local s
  local -A stopped=()
  for s in "${!PID[@]}"; do
    [ -n "${stopped[${PID[$s]}]:-}" ] && continue
    stopped[${PID[$s]}]=1
    kill "${PID[$s]}" 2>/dev/null || true
    wait "${PID[$s]}" 2>/dev/null || true
  done
  if [ -n "${LOGDIR:-}" ]; then mkdir -p "$LOGDIR" && cp "$WORK"/*.log "$LOGDIR"/ 2>/dev/null || true; fi
  rm -rf "$WORK"
}

# Exits unless every tool named is installed (nginx may sit in /usr/sbin, outside a user's PATH).
bench_need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || {
      echo "missing $tool (bash bench/setup.sh)" >&2
      exit 1
    }
  done
}

# Exits unless the build behind the launcher $1 exists and is newer than app/ (ALLOW_STALE=1 skips that).
bench_check_build() {
  local entry
  entry=$(dirname "$1")/../dist/app/cli/main.js
  [ -f "$entry" ] || { echo "no build at $entry: npm run build first" >&2; exit 1; }
  if [ -z "${ALLOW_STALE:-}" ] && [ -n "$(find app -name '*.ts' -newer "$entry" -not -path 'app/shell/*' -print -quit)" ]; then
    echo "$entry is older than app/ sources: npm run build first (or ALLOW_STALE=1)" >&2
    exit 1
  fi
  # The product sends HTTP bodies through its native body path when the build placed it beside the helper;
  # a missing or stale binary would measure another product.
  local body
  body=$(dirname "$1")/../native-helper/bin/linux-$(go env GOARCH 2>/dev/null || echo amd64)/pxe-desk-http
  if [ -z "${ALLOW_STALE:-}" ] && { [ ! -x "$body" ] || [ -n "$(find native-http -name '*.go' -newer "$body" -print -quit)" ]; }; then
    echo "$body is missing or older than native-http/: npm run build first (or ALLOW_STALE=1)" >&2
    exit 1
  fi
}

# The product's command line, as users run it: the launcher itself (its shebang carries the V8 flags);
# with NODE_FLAGS, `node NODE_FLAGS launcher`, which replaces the launcher's own flags.
product_cmd() {
  if [ -n "${NODE_FLAGS:-}" ]; then echo "node $NODE_FLAGS $1"; else echo "$1"; fi
}

# nginx's configuration in $WORK/nginx: one worker, sendfile, no access log, serving ROOT ($1) on
# 127.0.0.1:${PORT[nginx]}; $2, when given, is one more line of the http block.
nginx_conf() {
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  {
    cat <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log;
events { worker_connections 256; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
CONF
    [ -z "${2:-}" ] || echo "  $2"
    cat <<CONF
  client_body_temp_path $WORK/nginx/tmp;
  proxy_temp_path $WORK/nginx/tmp;
  fastcgi_temp_path $WORK/nginx/tmp;
  uwsgi_temp_path $WORK/nginx/tmp;
  scgi_temp_path $WORK/nginx/tmp;
  server { listen 127.0.0.1:${PORT[nginx]}; root $1; }
}
CONF
  } >"$WORK/nginx/nginx.conf"
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
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# Waits up to 10 s for server $1 to answer a 1-byte range of URL $2 (gives up early when its process
# ended), then checks it sends the whole of it byte for byte: its sha256 is $3 (also warms the page cache
# and a JIT). Exits with the server's last log lines, or naming $4 (what the URL is), when not.
await_server() {
  local s=$1 url=$2 sum=$3 what=$4 ok= got
  for _ in $(seq 100); do
    curl -sf -o /dev/null -r 0-0 "$url" && { ok=1; break; }
    kill -0 "${PID[$s]}" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$ok" ] || { echo "$s did not start: $(tail -3 "$WORK/$s.log")" >&2; exit 1; }
  got=$(curl -sf "$url" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$sum" ] || { echo "$s sent a different $what" >&2; exit 1; }
}

# The servers of round $1 (1-based), rotated one place per round so drift in the shared box's load does
# not always favour the same server, into the array `order`.
rotate_servers() {
  local k=$((($1 - 1) % ${#SERVERS[@]}))
  order=("${SERVERS[@]:$k}" "${SERVERS[@]:0:$k}")
}

# The table of a run: TSV $1 has lines "round, case, server, MB/s, cpu s/GB"; per case and server the
# median [min-max] MB/s, the ratio to nginx within each round (median [min-max]) and the median CPU s/GB.
# $2 names the case column, $3 and $4 are the widths of the case and server columns.
summary() {
  awk -F'\t' -v label="$2" -v w1="$3" -v w2="$4" '
  function med(a, n,   i, j, t) { for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
  function lo(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] < m) m = a[i]; return m }
  function hi(a, n,   i, m) { m = a[1]; for (i = 2; i <= n; i++) if (a[i] > m) m = a[i]; return m }
  { v[$2, $3, $1] = $4; c[$2, $3, $1] = $5; reps[$1] = 1; if (!(($2, $3) in seen)) { seen[$2, $3] = 1; keys[++k] = $2 SUBSEP $3 } }
  END {
    printf "%-" w1 "s %-" w2 "s %-22s %-20s %s\n", label, "server", "MB/s", "ratio to nginx", "cpu s/GB"
    for (i = 1; i <= k; i++) {
      split(keys[i], kk, SUBSEP); n = kk[1]; s = kk[2]
      m = 0; r = 0; q = 0; delete a; delete b; delete d
      for (rep in reps) {
        if ((n, s, rep) in v) { a[++m] = v[n, s, rep]; d[++q] = c[n, s, rep] }
        if ((n, s, rep) in v && (n, "nginx", rep) in v && v[n, "nginx", rep] > 0) b[++r] = v[n, s, rep] / v[n, "nginx", rep]
      }
      printf "%-" w1 "s %-" w2 "s %5.0f [%5.0f-%5.0f]    ", n, s, med(a, m), lo(a, m), hi(a, m)
      if (r > 0 && s != "nginx") printf "%4.2f [%4.2f-%4.2f]     ", med(b, r), lo(b, r), hi(b, r); else printf "%-20s ", "-"
      printf "%5.2f\n", med(d, q)
    }
  }' "$1"
}
