#!/usr/bin/env bash
# Measures the JSON Lines text layer in one run and prints a markdown table (issue 11, part 2):
# ns/value of reading decimal and hex floats and writing hex floats (10^6 values); `eval` with
# JSON Lines (certified softmax → f64, K = 100 000, whole process) against the plain 128-bit MPFR
# loop in C reading the same logits from a text file, and the ratio; the same request as a binary
# frame (`eval --transport binary`); time and peak RSS of `eval`
# on one request of 10^6 logits.
#
#   bash scripts/bench-io.sh [--rounds N] [--base PATH] [--oracle PATH]
#     --base: an older softmax-oracle to compare; --oracle: measure this binary (e.g. dist/softmax-oracle
#     from `make dist`) instead of the release build of this checkout, which is then not built
#   Release builds are for this CPU, the CLI a static executable (scripts/target-cpu.sh;
#   SOFTMAX_ORACLE_TARGET_CPU=portable: portable; SOFTMAX_ORACLE_LINK=dynamic: shared libraries).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-mpfr.sh
. scripts/target-cpu.sh
bench=(swift build -c release --package-path Benchmarks --scratch-path "Benchmarks/.build$build_suffix")
oracle=(swift build "${oracle_args[@]}")
echo "bench-io.sh: building Benchmarks/ (bench-io, mpfr-text-loop) in release..." >&2
"${bench[@]}" --product bench-io >&2
"${bench[@]}" --product mpfr-text-loop >&2
bin="$("${bench[@]}" --show-bin-path)"
for argument in "$@"; do
    if [ "$argument" = --oracle ]; then exec "$bin/bench-io" "$@"; fi
done
echo "bench-io.sh: building softmax-oracle in release..." >&2
"${oracle[@]}" --product softmax-oracle >&2
"$bin/bench-io" --oracle "$("${oracle[@]}" --show-bin-path)/softmax-oracle" "$@"
