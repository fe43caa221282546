#!/usr/bin/env bash
# The benchmarks' own tools beside what the tests need: nginx, the HTTP peer (bench/http-bench.sh runs it
# only in the foreground on a loopback port, stopped by PID). Installed by the test set-up's own installer,
# under its policy-rc.d that exits 101, so the package never starts nginx as a service. Safe to re-run.
set -euo pipefail
bash "$(dirname "$0")/../scripts/setup-system.sh" nginx
