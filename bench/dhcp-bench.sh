#!/usr/bin/env bash
# DHCP benchmark: OFFER latency p50/p99 and lost replies at RATES DISCOVER/s for PXE Desk (proxy, full)
# beside dnsmasq (proxy, full), each in its own run inside two private namespaces joined by a veth
# (198.18.0.0/16, RFC 2544 benchmark range). Nothing touches the host's interfaces. Not a test.
# usage: sudo bench/dhcp-bench.sh   [RATES="1000 20000"] [SECS=3]
set -uo pipefail
cd "$(dirname "$0")/.."
RATES=${RATES:-"1000 20000"}
SECS=${SECS:-3}
NS_S=pxdesk-dhcpb-s NS_C=pxdesk-dhcpb-c SRV=198.18.0.1 CLI=198.18.0.2
WORK=$(mktemp -d)
PID=""
stop() { if [ -n "$PID" ]; then kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; fi; }
cleanup() { stop; ip netns del $NS_S 2>/dev/null; ip netns del $NS_C 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
cleanup; WORK=$(mktemp -d)
ip netns add $NS_S && ip netns add $NS_C
ip link add dhb-s type veth peer name dhb-c
ip link set dhb-s netns $NS_S && ip link set dhb-c netns $NS_C
ip -n $NS_S addr add $SRV/16 dev dhb-s && ip -n $NS_C addr add $CLI/16 dev dhb-c
for n in $NS_S $NS_C; do ip -n $n link set lo up; done
ip -n $NS_S link set dhb-s up && ip -n $NS_C link set dhb-c up
ip -n $NS_S route add default dev dhb-s

DNSMASQ="$(command -v dnsmasq || echo /usr/sbin/dnsmasq) -k --conf-file=/dev/null --port=0 --interface=dhb-s --bind-interfaces --log-facility=/dev/null --dhcp-leasefile=$WORK/dnsmasq.leases --quiet-dhcp"
cmd_of() { case $1 in
  pxedesk-proxy) echo "$(command -v node) --import tsx bench/dhcp-serve.ts proxy $SRV --quiet" ;;
  pxedesk-dhcp) echo "$(command -v node) --import tsx bench/dhcp-serve.ts dhcp $SRV 198.18.1.0 198.18.254.254 16 --quiet" ;;
  dnsmasq-proxy) echo "$DNSMASQ --dhcp-range=198.18.0.0,proxy,255.255.0.0 --dhcp-boot=undionly.kpxe,,$SRV --pxe-service=x86PC,Boot,undionly" ;;
  dnsmasq-dhcp) echo "$DNSMASQ --dhcp-range=198.18.1.0,198.18.254.254,255.255.0.0,1h --dhcp-lease-max=200000 --no-ping --dhcp-boot=undionly.kpxe,,$SRV" ;;
esac; }

declare -A P50 P99 LOST
for name in pxedesk-proxy dnsmasq-proxy pxedesk-dhcp dnsmasq-dhcp; do
  rm -f "$WORK/dnsmasq.leases"
  ip netns exec $NS_S $(cmd_of $name) > "$WORK/$name.log" 2>&1 &
  PID=$!
  sleep 3
  if ! kill -0 $PID 2>/dev/null; then echo "$name failed to start: $(tail -3 "$WORK/$name.log")"; PID=""; continue; fi
  seed=1
  for r in $RATES; do
    j=$(ip netns exec $NS_C node bench/dhcp-flood.mjs $SRV $CLI "$r" "$SECS" $seed)
    seed=$((seed + 1))
    P50[$name,$r]=$(echo "$j" | node -pe 'JSON.parse(require("fs").readFileSync(0)).p50_ms')
    P99[$name,$r]=$(echo "$j" | node -pe 'JSON.parse(require("fs").readFileSync(0)).p99_ms')
    LOST[$name,$r]=$(echo "$j" | node -pe 'JSON.parse(require("fs").readFileSync(0)).lost')
    printf '%-14s %6s/s  %s\n' "$name" "$r" "$j"
    sleep 1
  done
  stop
done

echo
printf '%-7s %-6s %12s %12s %8s %12s %12s %8s %10s\n' rate mode "ours p50" "ours p99" "lost" "dnsmasq p50" "dnsmasq p99" "lost" "p99 ratio"
for r in $RATES; do for m in proxy dhcp; do
  o=pxedesk-$m d=dnsmasq-$m
  ratio=$(node -pe "const a=${P99[$o,$r]:-NaN}, b=${P99[$d,$r]:-NaN}; (a/b).toFixed(2)")
  printf '%-7s %-6s %12s %12s %8s %12s %12s %8s %10s\n' "$r" "$m" "${P50[$o,$r]:-NA}" "${P99[$o,$r]:-NA}" "${LOST[$o,$r]:-NA}" \
    "${P50[$d,$r]:-NA}" "${P99[$d,$r]:-NA}" "${LOST[$d,$r]:-NA}" "$ratio"
done; done
