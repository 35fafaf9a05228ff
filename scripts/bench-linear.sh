#!/usr/bin/env bash
# The fused linear cross-entropy's speed target in one run: the certified forward loss and its
# three gradients (bench-linear, Benchmarks/) against NumPy float64 computing the same
# uncertified (Benchmarks/numpy_linear_ce.py), on the same inputs. Prints both medians and the
# ratios. NumPy runs with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (that command only).
#
#   bash scripts/bench-linear.sh [N d V [repeats]]     # default 8 1024 32768 3
#   (the build for this CPU, scripts/target-cpu.sh; SOFTMAX_ORACLE_TARGET_CPU=portable: portable)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-8} d=${2:-1024} v=${3:-32768} repeats=${4:-3}
. scripts/target-cpu.sh
build=(swift build -c release --package-path Benchmarks --scratch-path "Benchmarks/.build$build_suffix")
"${build[@]}" --product bench-linear >&2
bin="$("${build[@]}" --show-bin-path)"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
oracle="$("$bin/bench-linear" --n "$n" --d "$d" --v "$v" --repeats "$repeats" --dump "$tmp")"
numpy="$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 Benchmarks/numpy_linear_ce.py "$tmp" "$n" "$d" "$v" 5)"
echo "$oracle"
echo "$numpy"
once=$(echo "$numpy" | awk '/numpy_once/ {print $3}')
separate=$(echo "$numpy" | awk '/numpy_separate/ {print $3}')
echo "$oracle" | awk -v once="$once" -v sep="$separate" '/total_median_s/ {
    printf "ratio %s: %.1fx NumPy computing all four at once, %.1fx NumPy computing them separately\n", $2, $4 / once, $4 / sep }'
