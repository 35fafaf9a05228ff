#!/usr/bin/env bash
# Measures softmax-oracle against its baselines in one run and prints a markdown table.
#
#   bash scripts/bench.sh            # the table (about 2 min after the build)
#   bash scripts/bench.sh --quick    # fewer samples (about 1 min)
#   bash scripts/bench.sh --wall     # wall-clock instead of process CPU time for 1-core rows
#   bash scripts/bench.sh --suite    # then also the ordo-one/benchmark suite (several min)
#
# What it measures (Benchmarks/, a separate package on ordo-one/benchmark): the certified
# oracle's softmax, log_softmax and cross_entropy into f64/f32 (and f16/bf16 softmax) at
# K = 16, 1024, 100 000 against a plain 128-bit MPFR softmax loop in C; 1 core against 2 on a
# large batch and a row of 10^6; the peak memory of a certified f64 softmax of K = 10^6; every
# fast kernel at K = 4096 against SciPy (python3, Benchmarks/scipy_softmax.py); the harness's
# cases per second. Ratios compare numbers of this run only. Single-threaded rows use process
# CPU time by default: on a machine shared with other work it is far steadier than wall time.
set -euo pipefail
cd "$(dirname "$0")/.."

report_args=()
suite=0
for a in "$@"; do
    case "$a" in
        --suite) suite=1 ;;
        --quick|--wall) report_args+=("$a") ;;
        *) echo "bench.sh: unknown option $a (use --quick, --wall, --suite)" >&2; exit 2 ;;
    esac
done

bash scripts/ensure-mpfr.sh
if python3 -c 'import numpy, scipy' 2>/dev/null; then
    report_args+=(--scipy Benchmarks/scipy_softmax.py)
else
    echo "bench.sh: python3 with numpy and scipy not found: the SciPy baseline is skipped (pip install scipy)" >&2
fi

echo "bench.sh: building Benchmarks/ in release (the first build takes a few minutes)..." >&2
swift build -c release --package-path Benchmarks --product bench-report >&2
bin="$(swift build -c release --package-path Benchmarks --show-bin-path)"
"$bin/bench-report" "${report_args[@]}"

if [ "$suite" = 1 ]; then
    swift package --package-path Benchmarks benchmark
fi
