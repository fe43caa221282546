#!/usr/bin/env bash
# HTTP from inside an ISO image (issue 18, "Done when"; not a test): the product as users run it —
# `pxe-desk serve --mode files` on loopback with an ISO in its folder, the member read in place from the
# image's extents — beside nginx serving the same files extracted by `xorriso -osirrox on -extract`, in
# the same run, printed as ratios to nginx.
#
# The image: a 256 MiB random member (live/filesystem.squashfs, the shape of a live root) plus a kernel,
# mastered by xorriso (Rock Ridge + Joliet). REPS rounds (default 3), the order of the servers rotating
# per round; each round:
#   streams=1, streams=16   N parallel `curl -o /dev/null` of the whole member (MB/s over the batch);
#   ranges=50               50 clients at once, each one curl process on one kept-alive connection
#                           reading RANGES (default 64) consecutive 1 MiB ranges of the member from its
#                           own starting point (what iPXE sanboot and a live root streamed over HTTP do),
#                           MB/s over the batch and ranges per second.
# Per server and case: MB/s median [min–max], the ratio to nginx within each round (median [min–max]) and
# the server's CPU seconds per GB (utime+stime of it and its children, /proc/PID/stat).
#
# Usage: bash bench/iso-http-bench.sh   (env: REPS=3 RANGES=64 PXE_DESK=bin/pxe-desk.js LOGDIR=DIR keeps the
#        servers' output; ALLOW_STALE=1 runs even when dist/ is older than app/).
# Needs nginx, curl, xorriso (bash bench/setup.sh; scripts/setup-system.sh) and a build (`npm run build`).
# Every server is first checked to send the member byte for byte. The machine may be shared: read the
# ratios, not the absolute MB/s.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib-http.sh
. bench/lib-http.sh
REPS=${REPS:-3}
RANGES=${RANGES:-64}
PXE_DESK=${PXE_DESK:-bin/pxe-desk.js}
# pxe-desk-plain: the same pxe-desk process serving the extracted member as a plain file (a hard link
# of nginx's copy in its folder), so the cost of reading from inside the image shows apart from Node's.
SERVERS=(nginx pxe-desk pxe-desk-plain)
declare -A PORT=([nginx]=18491 [pxe-desk]=18492 [pxe-desk-plain]=18492)
TFTP_PORT=18494 # the product's TFTP server, idle here (files mode on loopback)
MEMBER=live/filesystem.squashfs
declare -A PATHOF=([nginx]="$MEMBER" [pxe-desk]="isos/live.iso/$MEMBER" [pxe-desk-plain]="plain/$MEMBER")
WORK=$(mktemp -d /tmp/pxe-iso-http-bench.XXXXXX)
declare -A PID=()
trap bench_cleanup EXIT # pxe-desk-plain is the pxe-desk process: stopped once

bench_need nginx curl node xorriso
bench_check_build "$PXE_DESK"

chmod 755 "$WORK" # nginx workers run as nobody when started by root
mkdir -p "$WORK/tree/live" "$WORK/tree/casper" "$WORK/netboot/isos" "$WORK/extracted"
head -c $((256 * 1024 * 1024)) /dev/urandom >"$WORK/tree/$MEMBER"
head -c $((12 * 1024 * 1024)) /dev/urandom >"$WORK/tree/casper/vmlinuz"
xorriso -outdev "$WORK/netboot/isos/live.iso" -volid LIVE_BENCH -joliet on -map "$WORK/tree" / >/dev/null 2>&1
rm -rf "$WORK/tree"
xorriso -osirrox on -indev "$WORK/netboot/isos/live.iso" -extract / "$WORK/extracted" >/dev/null 2>&1
mkdir -p "$WORK/netboot/plain/live"
ln "$WORK/extracted/$MEMBER" "$WORK/netboot/plain/$MEMBER"
chmod -R a+rX "$WORK/extracted" "$WORK/netboot"
SIZE=$(stat -c %s "$WORK/extracted/$MEMBER")
SUM=$(sha256sum <"$WORK/extracted/$MEMBER" | cut -d' ' -f1)
nginx_conf "$WORK/extracted" 'keepalive_requests 100000;'

start() {
  local s=$1
  case $s in
    nginx) "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 & ;;
    pxe-desk-plain) return ;; # the pxe-desk process
    pxe-desk) $(product_cmd "$PXE_DESK") serve --mode files --address 127.0.0.1 --http-port "${PORT[pxe-desk]}" \
      --tftp-port "$TFTP_PORT" --root "$WORK/netboot" >"$WORK/pxe-desk.log" 2>&1 & ;;
  esac
  PID[$s]=$!
}
url() { echo "http://127.0.0.1:${PORT[$1]}/${PATHOF[$1]}"; }

for s in "${SERVERS[@]}"; do start "$s"; done
PID[pxe-desk-plain]=${PID[pxe-desk]}
for s in "${SERVERS[@]}"; do await_server "$s" "$(url "$s")" "$SUM" member; done
# A range across the member checked byte for byte too (the multi-range path is the tests' job).
for s in "${SERVERS[@]}"; do
  a=$(curl -sf -r 1000000-3000000 "$(url "$s")" | sha256sum | cut -d' ' -f1)
  b=$(dd if="$WORK/extracted/$MEMBER" iflag=skip_bytes,count_bytes skip=1000000 count=2000001 status=none |
    sha256sum | cut -d' ' -f1)
  [ "$a" = "$b" ] || { echo "$s sent a wrong range" >&2; exit 1; }
done
echo "member: $MEMBER, $SIZE bytes, in isos/live.iso (xorriso); nginx serves xorriso's extraction"
echo "pxe-desk = $(product_cmd "$PXE_DESK") serve --mode files --address 127.0.0.1 --http-port ${PORT[pxe-desk]} --tftp-port $TFTP_PORT --root DIR"

# Per-client curl configs for the range case: RANGES consecutive 1 MiB ranges on one connection, each
# client starting at its own offset (wrapping at the end of the member).
MiB=$((1024 * 1024))
CHUNKS=$((SIZE / MiB))
for s in "${SERVERS[@]}"; do
  for c in $(seq 50); do
    {
      for k in $(seq 0 $((RANGES - 1))); do
        i=$(((c * 37 + k) % CHUNKS))
        [ "$k" = 0 ] || echo next
        printf 'url = "%s"\nrange = "%d-%d"\noutput = "/dev/null"\nwrite-out = "%%{http_code} %%{size_download}\\n"\n' \
          "$(url "$s")" $((i * MiB)) $((i * MiB + MiB - 1))
      done
    } >"$WORK/ranges.$s.$c"
  done
done

# One batch; prints "MB/s cpu-s-per-GB ranges-per-s", or "0 0 0" when a response came up short.
batch() {
  local s=$1 kind=$2 n=$3 t0 t1 c0 c1 cp=() i bad=0 bytes
  c0=$(cpu_ticks "${PID[$s]}")
  t0=$(date +%s.%N)
  for i in $(seq "$n"); do
    if [ "$kind" = ranges ]; then
      curl -s -K "$WORK/ranges.$s.$i" >"$WORK/got.$i" &
    else
      curl -sf -o /dev/null -w '200 %{size_download}\n' "$(url "$s")" >"$WORK/got.$i" &
    fi
    cp+=($!)
  done
  for i in "${!cp[@]}"; do wait "${cp[$i]}" || bad=1; done
  t1=$(date +%s.%N)
  c1=$(cpu_ticks "${PID[$s]}")
  if [ "$kind" = ranges ]; then
    bytes=$((n * RANGES * MiB))
    for i in $(seq "$n"); do
      [ "$(grep -c "^206 $MiB\$" "$WORK/got.$i")" = "$RANGES" ] || bad=1
    done
  else
    bytes=$((n * SIZE))
    for i in $(seq "$n"); do [ "$(cat "$WORK/got.$i")" = "200 $SIZE" ] || bad=1; done
  fi
  if [ "$bad" = 1 ]; then echo "0 0 0"; return; fi
  awk -v b="$bytes" -v t="$(echo "$t1 - $t0" | bc -l)" -v c="$((c1 - c0))" -v hz="$HZ" -v r="$((n * RANGES))" -v k="$kind" \
    'BEGIN { printf "%.0f %.2f %.0f\n", b / t / 1e6, (c / hz) / (b / 1e9), (k == "ranges" ? r / t : 0) }'
}

TSV=$WORK/iso-http.tsv
CASES=("streams 1" "streams 16" "ranges 50")
for rep in $(seq "$REPS"); do
  rotate_servers "$rep"
  for c in "${CASES[@]}"; do
    read -r kind n <<<"$c"
    for s in "${order[@]}"; do
      read -r mbs cpu rps < <(batch "$s" "$kind" "$n")
      printf '%s\t%s=%s\t%s\t%s\t%s\t%s\n' "$rep" "$kind" "$n" "$s" "$mbs" "$cpu" "$rps" >>"$TSV"
      printf 'rep %s %-10s %-8s %6s MB/s  cpu %s s/GB%s\n' "$rep" "$kind=$n" "$s" "$mbs" "$cpu" \
        "$([ "$kind" = ranges ] && echo "  $rps ranges/s")"
    done
  done
done

echo
echo "median [min-max] of $REPS rounds; ratio = server / nginx (extracted files) within each round;"
echo "pxe-desk reads the member from inside the ISO, pxe-desk-plain the extracted copy (same process)"
summary "$TSV" case 11 15
