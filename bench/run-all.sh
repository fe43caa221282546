#!/usr/bin/env bash
# Runs every benchmark in bench/ (each prints its own table of ratios).
set -euo pipefail
cd "$(dirname "$0")"
bash ./setup.sh
for b in ./*-bench.sh; do
  [ -e "$b" ] || continue
  echo "== $b"
  bash "$b"
done
