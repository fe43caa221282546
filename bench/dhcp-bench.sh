#!/usr/bin/env bash
# DHCP benchmark (not a test): OFFER latency p50/p99, lost replies and server CPU per 1 000 offers at RATES
# DISCOVER/s for PXE Desk (proxy, full) beside dnsmasq (proxy, full) in the same run. Generator: ISC perfdhcp
# (Debian kea-admin), relay-style (giaddr = its own address, so every server answers by unicast), PXE options
# 60/93/97, one new client MAC per request. Latency is read from a capture taken in the generator's namespace
# (bench/dhcp-latency.mjs: wire time from DISCOVER to the OFFER with the same xid). Everything runs in two
# private namespaces joined by a veth (198.18.0.0/15, RFC 2544 benchmark range); nothing touches the host's
# interfaces, every process is stopped by PID, the namespaces are removed on exit.
# "lost" is perfdhcp's: no OFFER within its drop time (1 s; a PXE client retransmits then); "never answered" is
# read from the capture (no OFFER at all, late ones count as answered).
# usage: sudo bench/dhcp-bench.sh   [RATES="1000 20000"] [SECS=3] [REPS=3] [SERVERS="pxedesk-proxy dnsmasq-proxy pxedesk-dhcp dnsmasq-dhcp"]
#        BASELINE_DIR=/path/to/an/older/checkout adds baseline-proxy and baseline-dhcp (that tree's engines) to
#        the same run, for before/after figures (needs node_modules there: a symlink is enough).
#        HELPER=/path/to/pxe-desk-helper adds helper-proxy and helper-dhcp: PXE Desk through the native helper relay
#        (the production Linux path) instead of node:dgram (build: cd native-helper && go build -o PATH .).
#        product-proxy / product-dhcp (default with HELPER): the product as users run it, `pxe-desk serve` through
#        the native helper — session, client model, timeline, diagnosis, live view and logs included, the
#        preflight probe first (measurement starts at its "session running" line). The helper-* and pxedesk-*
#        rows are the bare engines (bench/dhcp-serve.ts), a second line beside the product's.
#        SERVERS may also name rcvbuf-BYTES-proxy / rcvbuf-BYTES-dhcp: PXE Desk with that SO_RCVBUF (0 = OS default),
#        or dnsmasqpxe-dhcp: dnsmasq's full mode with a PXE service too, so its OFFERs carry options 60 and 97 like
#        PXE Desk's (perfdhcp parses every option with an allocation, so richer OFFERs cost the generator more).
#        WARMUP_RATE=N: the warm-up's rate (default: up to 5 000/s; `same` = the measured rate, which also
#        runs the code paths a full table takes, e.g. probe collisions, before the measurement).
#        WARMUP_SECS=N: the warm-up's length (default 1 s).
#        WARMUP=1 (default): each fresh server first gets 1 s of DISCOVERs at up to 5 000/s, not measured, so a
#        JIT runtime is measured warm like a long-running server (applied to every server alike; 0 = cold).
#        CAPTURE=0: no tcpdump (its CPU then stays with the server and the generator); p50/p99 are NA and
#        perfdhcp's own max delay (an upper bound of p99, taken at the generator) is the latency figure.
#        LOGDIR=DIR keeps each server's output; NODE_FLAGS adds node flags to PXE Desk (e.g. --trace-gc; the product rows
#        then run `node NODE_FLAGS bin/pxe-desk.js`, without the launcher's own flags),
#        SERVE_FLAGS adds bench/dhcp-serve.ts flags to pxedesk-proxy (e.g. --remember-ms -1); SHOW_GEN=1 prints
#        perfdhcp's own report.
#        FLOOD_SECS=N: the flood mode of issue 17: one run of N s (e.g. 60) of new MACs at RATES (default 20000),
#        REPS=1 and no capture unless given; each product row also times an HTTP GET of a small file from the
#        product's own HTTP server twice a second during the flood (the event loop that serves the UI), the
#        "ui max ms" column. The "rss MB" column (every mode) is the server's peak RSS (VmHWM, the server
#        process plus its children, e.g. the native helper), warm-up included.
#        PIN=1 (default with 2 or more CPUs): the server on CPU 0, the generator and the capture on CPU 1
#        (taskset), every server alike. Unpinned on this 2-core box, perfdhcp's two threads and tcpdump take
#        the server's core at random and dnsmasq itself loses 17 % at 20 000/s; pinned, dnsmasq loses nothing
#        (its figure in the issue). PIN=0 leaves placement to the scheduler.
set -uo pipefail
cd "$(dirname "$0")/.."
FLOOD_SECS=${FLOOD_SECS:-}
if [ -n "$FLOOD_SECS" ]; then RATES=${RATES:-20000} SECS=$FLOOD_SECS REPS=${REPS:-1} CAPTURE=${CAPTURE:-0}; fi
RATES=${RATES:-"1000 20000"}
SECS=${SECS:-3}
REPS=${REPS:-3}
WARMUP=${WARMUP:-1}
WARMUP_SECS=${WARMUP_SECS:-1}
CAPTURE=${CAPTURE:-1}
PIN=${PIN:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}
if [ "$PIN" = 1 ]; then ON_SRV="taskset -c 0" ON_GEN="taskset -c 1"; else ON_SRV="" ON_GEN=""; fi
BASELINE_DIR=${BASELINE_DIR:-}
HELPER=${HELPER:-}
SERVERS=${SERVERS:-"pxedesk-proxy dnsmasq-proxy pxedesk-dhcp dnsmasq-dhcp${BASELINE_DIR:+ baseline-proxy baseline-dhcp}${HELPER:+ product-proxy helper-proxy product-dhcp helper-dhcp}"}
NS_S=pxdesk-dhcpb-s NS_C=pxdesk-dhcpb-c SRV=198.18.0.1 CLI=198.18.0.2 PREFIX=15
HZ=$(getconf CLK_TCK)
for tool in perfdhcp dnsmasq tcpdump; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] || { echo "missing $tool (bash scripts/setup-system.sh)"; exit 1; }
done
PERFDHCP=$(command -v perfdhcp || echo /usr/sbin/perfdhcp)
TCPDUMP=$(command -v tcpdump || echo /usr/sbin/tcpdump)
WORK=$(mktemp -d)
PID="" CAP="" UIP=""
stop_pid() { if [ -n "$1" ]; then kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; fi; }
cleanup() {
  stop_pid "$UIP"; UIP=""; stop_pid "$CAP"; CAP=""; stop_pid "$PID"; PID=""
  ip netns del $NS_S 2>/dev/null; ip netns del $NS_C 2>/dev/null; true
}
trap 'cleanup; rm -rf "$WORK"' EXIT
cleanup
ip netns add $NS_S && ip netns add $NS_C
ip link add dhb-s type veth peer name dhb-c
ip link set dhb-s netns $NS_S && ip link set dhb-c netns $NS_C
ip -n $NS_S addr add $SRV/$PREFIX dev dhb-s && ip -n $NS_C addr add $CLI/$PREFIX dev dhb-c
for n in $NS_S $NS_C; do ip -n $n link set lo up; done
ip -n $NS_S link set dhb-s up && ip -n $NS_C link set dhb-c up
# The direct transport's broadcasts need a route in the namespace (docs/protocol-notes.md §11); replies here are unicast.
ip -n $NS_S route add default dev dhb-s

DNSMASQ="$(command -v dnsmasq || echo /usr/sbin/dnsmasq) -k --conf-file=/dev/null --port=0 --interface=dhb-s --bind-interfaces --log-facility=/dev/null --dhcp-leasefile=$WORK/dnsmasq.leases --quiet-dhcp"
# The product as users run it: the launcher executed, its shebang's node flags included (bin/pxe-desk.js);
# with NODE_FLAGS it runs as `node NODE_FLAGS bin/pxe-desk.js`, which replaces the launcher's own flags.
product_cli() {
  if [ -n "${NODE_FLAGS:-}" ]; then echo "$(command -v node) $NODE_FLAGS $PWD/bin/pxe-desk.js"; else echo "$PWD/bin/pxe-desk.js"; fi
}
cmd_of() { case $1 in
  pxedesk-proxy) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts proxy $SRV --quiet ${SERVE_FLAGS:-}" ;;
  rcvbuf-*-proxy) b=${1#rcvbuf-}; echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts proxy $SRV --quiet --rcvbuf ${b%-proxy}" ;;
  rcvbuf-*-dhcp) b=${1#rcvbuf-}; echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts dhcp $SRV 198.18.1.0 198.19.254.254 $PREFIX --quiet --rcvbuf ${b%-dhcp}" ;;
  pxedesk-dhcp) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts dhcp $SRV 198.18.1.0 198.19.254.254 $PREFIX --quiet" ;;
  helper-proxy) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts proxy $SRV --quiet --helper $HELPER --iface dhb-s" ;;
  helper-dhcp) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx bench/dhcp-serve.ts dhcp $SRV 198.18.1.0 198.19.254.254 $PREFIX --quiet --helper $HELPER --iface dhb-s" ;;
  baseline-proxy) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx $BASELINE_DIR/bench/dhcp-serve.ts proxy $SRV --quiet" ;;
  baseline-dhcp) echo "$(command -v node) ${NODE_FLAGS:-} --import tsx $BASELINE_DIR/bench/dhcp-serve.ts dhcp $SRV 198.18.1.0 198.19.254.254 $PREFIX --quiet" ;;
  product-proxy) echo "$(product_cli) serve --mode proxy --iface dhb-s --address $SRV --helper always --helper-path $HELPER --root $WORK/root --probe-window 500 --http-port 18080 --tftp-port 69" ;;
  product-dhcp) echo "$(product_cli) serve --mode dhcp --iface dhb-s --address $SRV --helper always --helper-path $HELPER --root $WORK/root --probe-window 500 --http-port 18080 --tftp-port 69 --range 198.18.1.0-198.19.254.254 --subnet /$PREFIX --leases-file $WORK/product.leases" ;;
  dnsmasq-proxy) echo "$DNSMASQ --dhcp-range=198.18.0.0,proxy,255.254.0.0 --dhcp-boot=undionly.kpxe,,$SRV --pxe-service=x86PC,Boot,undionly" ;;
  dnsmasq-dhcp) echo "$DNSMASQ --dhcp-range=198.18.1.0,198.19.254.254,255.254.0.0,1h --dhcp-lease-max=200000 --no-ping --dhcp-boot=undionly.kpxe,,$SRV" ;;
  dnsmasqpxe-dhcp) echo "$DNSMASQ --dhcp-range=198.18.1.0,198.19.254.254,255.254.0.0,1h --dhcp-lease-max=200000 --no-ping --dhcp-boot=undionly.kpxe,,$SRV --pxe-service=x86PC,Boot,undionly" ;;
esac; }
# CPU ticks of the server and its children (the native helper runs as a child of PXE Desk).
cpu_ticks() {
  local t=0 p
  for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do
    t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo $t
}
# UDP datagrams a namespace's kernel dropped because a socket's receive buffer was full (RFC 4113
# udpInErrors' RcvbufErrors): in the generator's namespace that is perfdhcp not reading fast enough, in the
# server's the server.
# Peak resident memory (kB) of the server and its children (VmHWM: the high-water mark of each process).
rss_peak() {
  local t=0 p
  for p in $1 $(ps -o pid= --ppid "$1" 2>/dev/null); do
    t=$((t + $(awk '/^VmHWM:/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)))
  done
  echo $t
}
# During a flood: an HTTP GET of a small file from the product twice a second; prints the slowest (ms).
ui_probe() {
  local worst=0 t
  while :; do
    t=$(ip netns exec $NS_C curl -s -o /dev/null -m 5 -w '%{time_total}' "http://$SRV:18080/probe.txt" || echo 5)
    worst=$(awk -v a="$worst" -v b="$t" 'BEGIN { b *= 1000; print (b > a ? b : a) }')
    echo "$worst" > "$WORK/ui.max"
    sleep 0.5
  done
}
rcvbuf_errors() {
  ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "RcvbufErrors") c = i; h = 1 } else print $c }' /proc/net/snmp
}
started() { # the server has bound UDP 67 in its namespace (the product: its session is running, probe done)
  for _ in $(seq 200); do
    case $name in
      product-*) grep -q 'session running' "$WORK/$name.log" && return 0 ;;
      *) ip netns exec $NS_S ss -uln 2>/dev/null | grep -q ':67\b' && return 0 ;;
    esac
    kill -0 "$PID" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
VC=$(printf 'PXEClient:Arch:00000:UNDI:002001' | od -An -tx1 | tr -d ' \n')
TSV=$WORK/dhcp.tsv
for rep in $(seq "$REPS"); do for r in $RATES; do for name in $SERVERS; do
  rm -f "$WORK/dnsmasq.leases" "$WORK/product.leases" "$WORK/ui.max"; mkdir -p "$WORK/root"; echo probe > "$WORK/root/probe.txt"
  # A fresh server per measurement: the full-mode pool (131 000 addresses) then never runs dry.
  ip netns exec $NS_S $ON_SRV $(cmd_of $name) > "$WORK/$name.log" 2>&1 &
  PID=$!
  if ! started; then echo "$name failed to start: $(tail -3 "$WORK/$name.log")"; stop_pid "$PID"; PID=""; continue; fi
  if [ "$WARMUP" = 1 ]; then
    wr=${WARMUP_RATE:-$((r < 5000 ? r : 5000))}; [ "$wr" = same ] && wr=$r
    timeout 20 ip netns exec $NS_C $ON_GEN "$PERFDHCP" -4 -l dhb-c -i -r "$wr" -R 1000000 -p "$WARMUP_SECS" -W 500000 \
      -o 60,$VC -o 93,0000 -o 97,00$(printf '%032x' 9) $SRV > /dev/null 2>&1
  fi
  rm -f "$WORK/cap.pcap" "$WORK/tcpdump.txt"
  if [ "$CAPTURE" = 1 ]; then
    ip netns exec $NS_C $ON_GEN "$TCPDUMP" -i dhb-c -n -s 96 -B 32768 -w "$WORK/cap.pcap" udp port 67 2> "$WORK/tcpdump.txt" &
    CAP=$!
  fi
  sleep 0.5
  c0=$(cpu_ticks $PID); g0=$(rcvbuf_errors $NS_C); s0=$(rcvbuf_errors $NS_S)
  UIP=""
  case $name in product-*) [ -n "$FLOOD_SECS" ] && { ui_probe & UIP=$!; } ;; esac
  # -i: DISCOVER/OFFER only; -R: distinct clients; -W: wait 2 s for late replies; capped at RATE*SECS requests.
  timeout $((SECS + 20)) ip netns exec $NS_C $ON_GEN "$PERFDHCP" -4 -l dhb-c -i -r "$r" -R 1000000 -p "$SECS" -W 2000000 \
    -o 60,$VC -o 93,0000 -o 97,00$(printf '%032x' "$rep") $SRV > "$WORK/perfdhcp.txt" 2>&1
  c1=$(cpu_ticks $PID); g1=$(rcvbuf_errors $NS_C); s1=$(rcvbuf_errors $NS_S); rss=$(rss_peak $PID)
  stop_pid "$UIP"; UIP=""; ui=$(cat "$WORK/ui.max" 2>/dev/null || echo NA)
  sleep 0.3
  stop_pid "$CAP"; CAP=""
  stop_pid "$PID"; PID=""
  [ -n "${LOGDIR:-}" ] && mkdir -p "$LOGDIR" && cp "$WORK/$name.log" "$LOGDIR/$name.rep$rep.$r.log" && { [ ! -f "$WORK/cap.pcap" ] || cp "$WORK/cap.pcap" "$LOGDIR/$name.rep$rep.$r.pcap"; }
  lat=$( [ "$CAPTURE" = 1 ] && node bench/dhcp-latency.mjs "$WORK/cap.pcap" 2>/dev/null || echo '{}')
  capdrop=$(awk '/dropped by kernel/{print $1}' "$WORK/tcpdump.txt" 2>/dev/null)
  # Without a capture the max column is perfdhcp's own max delay (taken at the generator, so an upper bound).
  [ "$CAPTURE" = 1 ] || lat="{\"max_ms\":$(awk '/^max delay/{print $3; exit}' "$WORK/perfdhcp.txt" | grep . || echo null)}"
  [ -n "${SHOW_GEN:-}" ] && cat "$WORK/perfdhcp.txt"
  sent=$(awk '/^sent packets/{print $3; exit}' "$WORK/perfdhcp.txt")
  recv=$(awk '/^received packets/{print $3; exit}' "$WORK/perfdhcp.txt")
  row=$(LAT="$lat" GEN_DROPS=$((g1 - g0)) SRV_DROPS=$((s1 - s0)) RSS_KB="$rss" UI_MS="$ui" node -e '
    const [n, r, rep, s, g, c0, c1, hz, cd] = process.argv.slice(1);
    const l = JSON.parse(process.env.LAT || "{}");
    const sent = Number(s) || 0, got = Number(g) || 0;
    const cpu = ((Number(c1) - Number(c0)) / Number(hz)) * 1000;
    console.log([n, r, rep, sent, got, sent - got, l.p50_ms ?? "NA", l.p99_ms ?? "NA", l.max_ms ?? "NA",
      got ? ((cpu * 1000) / got).toFixed(1) : "NA", cd || 0, l.requests != null ? l.requests - l.answered : "NA",
      process.env.GEN_DROPS, process.env.SRV_DROPS, l.gen_stalls ?? "NA", (Number(process.env.RSS_KB) / 1024).toFixed(1),
      process.env.UI_MS === "NA" ? "NA" : Number(process.env.UI_MS).toFixed(1)].join("\t"));
  ' "$name" "$r" "$rep" "${sent:-0}" "${recv:-0}" "$c0" "$c1" "$HZ" "$capdrop")
  echo "$row" >> "$TSV"
  printf 'rep %s %-14s %6s/s  sent %s offers %s lost %s  p50 %s p99 %s max %s ms  cpu %s ms/1k  (capture drops %s, never answered %s, full socket: generator %s server %s; generator stalls > 2 ms: %s)  rss %s MB  ui max %s ms\n' \
    "$rep" $(echo "$row" | cut -f1,2,4-17 | tr '\t' ' ')
  sleep 0.5
done; done; done

echo
echo "Medians over $REPS reps (lost = no OFFER within perfdhcp's 1 s drop time, of RATE x $SECS s; never = no OFFER"
echo "on the wire at all; gen/srv full = datagrams the generator's / server's namespace dropped at a full socket"
echo "receive buffer (/proc/net/snmp RcvbufErrors); gen stall = gaps over 2 ms between two of the generator's"
echo "DISCOVERs on the wire (it fell behind its own pace); latency on the wire, late OFFERs included;"
echo "rss = peak RSS of the server and its children (MB); ui max = slowest HTTP GET from the product during a"
echo "FLOOD_SECS run (ms); ratios are against dnsmasq in the same mode and run):"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
  const med = (a) => { const v = a.map(Number).filter((x) => !Number.isNaN(x)).sort((x, y) => x - y);
    return v.length ? (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2) : NaN; };
  const get = (n, r, c) => med(rows.filter((x) => x[0] === n && x[1] === r).map((x) => x[c]));
  const f = (x, d = 2) => (Number.isNaN(x) ? "NA" : x.toFixed(d));
  const head = ["rate", "server", "sent", "lost", "never", "gen full", "srv full", "gen stall", "p50 ms", "p99 ms", "cpu ms/1k", "p99 ratio", "cpu ratio", "rss MB", "ui max ms"];
  console.log(head.map((s, i) => (i === 1 ? " " + s.padEnd(15) : s.padStart(10))).join(""));
  for (const r of [...new Set(rows.map((x) => x[1]))]) for (const n of [...new Set(rows.map((x) => x[0]))]) {
    const d = "dnsmasq-" + n.split("-").at(-1);
    console.log([r, n, f(get(n, r, 3), 0), f(get(n, r, 5), 0), f(get(n, r, 11), 0), f(get(n, r, 12), 0), f(get(n, r, 13), 0), f(get(n, r, 14), 0), f(get(n, r, 6), 3), f(get(n, r, 7)), f(get(n, r, 9), 1),
      f(get(n, r, 7) / get(d, r, 7)), f(get(n, r, 9) / get(d, r, 9)), f(get(n, r, 15), 1), f(get(n, r, 16), 1)].map((s, i) => (i === 1 ? " " + String(s).padEnd(15) : String(s).padStart(10))).join(""));
  }' "$TSV"
