#!/usr/bin/env bash
# Issue 11's Python target in one run: log_softmax into f32 of 8 x 128 000 logits from Python
# (binary and JSON Lines transports) against the plain 128-bit MPFR loop in C on the same logits.
#
#   bash scripts/bench-python.sh [samples]     # needs python3 with numpy and the package installed
#
# Uses $SOFTMAX_ORACLE_BIN if set, else builds the release CLI for this CPU, static (scripts/target-cpu.sh;
# SOFTMAX_ORACLE_TARGET_CPU=portable: the portable build). The C loop is
# Benchmarks/Sources/CMPFRLoop/mpfr_loop.c, compiled here with cc -O2 into a shared library.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SOFTMAX_ORACLE_BIN:-}" ]; then
    . scripts/target-cpu.sh
    swift build "${oracle_args[@]}" --product softmax-oracle >&2
    export SOFTMAX_ORACLE_BIN="$(swift build "${oracle_args[@]}" --show-bin-path)/softmax-oracle"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cc -O2 -shared -fPIC -I Benchmarks/Sources/CMPFRLoop/include Benchmarks/Sources/CMPFRLoop/mpfr_loop.c \
    -o "$work/libmpfrloop.so" -lmpfr -lgmp
python3 Benchmarks/python_end_to_end.py "$work/libmpfrloop.so" "${1:-7}"
