#!/usr/bin/env bash
# Runs `softmax-oracle eval` on Examples/requests.jsonl (every function, several formats, an
# escalation, a malformed line) under valgrind's leak checker; fails on any definite or indirect
# leak. Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-mpfr.sh
swift build --product softmax-oracle
# The last request line is malformed on purpose, so eval itself exits 1; valgrind exits 9 on a leak.
status=0
valgrind --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
    .build/debug/softmax-oracle eval < Examples/requests.jsonl > /dev/null || status=$?
if [ "$status" -ne 1 ]; then
    echo "leak-check: failed (exit $status; 9 means valgrind found a leak or memory error)" >&2
    exit 1
fi
echo "leak-check: no definite or indirect leaks" >&2
