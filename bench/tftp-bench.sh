#!/usr/bin/env bash
# TFTP throughput (not a test): PXE Desk engine beside tftpd-hpa and atftpd, atftp client, loopback
# high ports only, 32 MiB file, median of 3. dnsmasq is left out: its TFTP listen port is fixed at 69
# (no option to move it), and port 69 on this machine is off limits.
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d /tmp/tftp-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
head -c $((32 * 1024 * 1024)) /dev/urandom >"$WORK/f.bin"
chmod 755 "$WORK" && chmod 644 "$WORK/f.bin" # in.tftpd drops to nobody
if [ ! -x "$WORK/hpa/usr/sbin/in.tftpd" ]; then
  (cd "$WORK" && apt-get download tftpd-hpa >/dev/null 2>&1 && dpkg -x tftpd-hpa_*.deb hpa) || true
fi
node --import tsx bench/tftp-serve.ts "$WORK" 16969 & PIDS+=($!)
if [ -x "$WORK/hpa/usr/sbin/in.tftpd" ]; then "$WORK/hpa/usr/sbin/in.tftpd" -L -s -a 127.0.0.1:16970 "$WORK" & PIDS+=($!); fi
atftpd --daemon --no-fork --port 16971 --bind-address 127.0.0.1 --logfile /dev/null --user root.root "$WORK" & PIDS+=($!)
sleep 3
# one run: MB/s for a given port and atftp options
rate() {
  local port=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  timeout 60 atftp --get -r f.bin -l "$WORK/out" "$@" 127.0.0.1 "$port" >/dev/null 2>&1 || { echo 0; return; }
  t1=$(date +%s.%N)
  cmp -s "$WORK/out" "$WORK/f.bin" || { echo 0; return; }
  echo "scale=1; 32 * 1.048576 / ($t1 - $t0)" | bc
}
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
printf '%-22s %10s %10s %10s %8s %8s\n' case pxe-desk tftpd-hpa atftpd /hpa /atftpd
for c in "blksize 512" "blksize 1468" "blksize 8192" "ws4" "ws16" "ws64"; do
  case $c in
    ws*) opts=(--option "blksize 1468" --option "windowsize ${c#ws}") ;;
    *) opts=(--option "$c") ;;
  esac
  r=()
  for port in 16969 16970 16971; do
    r+=("$(median "$(rate $port "${opts[@]}")" "$(rate $port "${opts[@]}")" "$(rate $port "${opts[@]}")")")
  done
  printf '%-22s %10s %10s %10s %8s %8s\n' "$c" "${r[0]}" "${r[1]}" "${r[2]}" \
    "$(echo "scale=2; ${r[0]} / (${r[1]} + 0.001)" | bc)" "$(echo "scale=2; ${r[0]} / (${r[2]} + 0.001)" | bc)"
done
