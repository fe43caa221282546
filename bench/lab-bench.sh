#!/bin/bash
# Time to the boot marker per lab case, PXE Desk beside dnsmasq serving the same case.
#   bench/lab-bench.sh [case,...]      (as root; one QEMU at a time, ~3-5 min for all cases)
# Prints one `lab-bench case=… server=… time_to_marker=…s` line per boot and a table at the end;
# the raw lines are in artifacts/lab/bench.txt. A benchmark, not an assertion: failures are listed.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p artifacts/lab
rm -f artifacts/lab/bench.txt
LAB_BENCH=1 LAB_SERVERS=${LAB_SERVERS:-pxe-desk,dnsmasq} LAB_CASE=${1:-${LAB_CASE:-}} \
  npx vitest run --config test/lab/vitest.config.ts --reporter=dot >artifacts/lab/bench-vitest.log 2>&1
status=$?
printf '%-16s %10s %10s\n' case pxe-desk dnsmasq
awk '{for(i=1;i<=NF;i++){split($i,kv,"="); v[kv[1]]=kv[2]} t[v["case"]","v["server"]]=v["time_to_marker"]; c[v["case"]]=1}
     END{for(k in c) printf "%-16s %10s %10s\n", k, (t[k",pxe-desk"]?t[k",pxe-desk"]:"-"), (t[k",dnsmasq"]?t[k",dnsmasq"]:"-")}' \
  artifacts/lab/bench.txt 2>/dev/null | sort
[ $status -eq 0 ] || echo "lab-bench: some boots failed (see artifacts/lab/bench-vitest.log)"
exit 0
