#!/usr/bin/env bash
# Makes a data set of N noisy measurements in $CC_RUN_DIR/data.csv, reporting progress as it goes.
set -euo pipefail
n=${1:-1000}
out="$CC_RUN_DIR/data.csv"
echo "value" > "$out"
for step in 1 2 3 4 5; do
  for ((i = 0; i < n / 5; i++)); do
    echo $(( (RANDOM % 100) + step * 10 )) >> "$out"
  done
  echo "# cc status=running progress=$((step * 20)) msg=\"chunk $step of 5\""
  sleep 0.4
done
echo "wrote $(($(wc -l < "$out") - 1)) values to $out"
