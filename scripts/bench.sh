#!/usr/bin/env bash
# Measures softmax-oracle against its baselines in one run and prints a markdown table.
#
#   bash scripts/bench.sh            # the table (about 2 min after the build)
#   bash scripts/bench.sh --quick    # fewer samples (about 1 min)
#   bash scripts/bench.sh --wall     # wall-clock instead of process CPU time for 1-core rows
#   bash scripts/bench.sh --suite    # then also the ordo-one/benchmark suite (several min)
#   bash scripts/bench.sh --kernels  # only kernel-bench: `accurate` against SciPy (about 1 min)
#
#   SOFTMAX_ORACLE_TARGET_CPU=portable bash scripts/bench.sh --kernels  # the portable build
#   PYTHON=.venv/bin/python bash scripts/bench.sh                      # SciPy from that Python
#
# What it measures (Benchmarks/, a separate package on ordo-one/benchmark): the certified
# oracle's softmax, log_softmax and cross_entropy into f64/f32 (and f16/bf16 softmax) at
# K = 16, 1024, 100 000 against a plain 128-bit MPFR softmax loop in C; 1 core against 2 on a
# large batch and a row of 10^6; the peak memory of a certified f64 softmax of K = 10^6; every
# fast kernel at K = 4096 against SciPy (python3, Benchmarks/scipy_softmax.py); the harness's
# cases per second. Then kernel-bench (Benchmarks/Sources/kernel-bench): the `accurate` softmax and
# log_softmax, f64 and f32, on one row of 4096 and a batch of 256 × 4096, against SciPy on the
# same shapes, interleaved, process CPU time on both sides, with the CPU's FMA/AVX flags, the
# build's FMA policy and NumPy's SIMD level printed. Ratios compare numbers of this run only. Single-threaded rows use process
# CPU time by default: on a machine shared with other work it is far steadier than wall time.
set -euo pipefail
cd "$(dirname "$0")/.."

report_args=()
kernel_args=()
suite=0
kernels_only=0
for a in "$@"; do
    case "$a" in
        --suite) suite=1 ;;
        --kernels) kernels_only=1 ;;
        --quick) report_args+=("$a"); kernel_args+=("$a") ;;
        --wall) report_args+=("$a") ;;
        *) echo "bench.sh: unknown option $a (use --quick, --wall, --suite, --kernels)" >&2; exit 2 ;;
    esac
done

python="${PYTHON:-python3}"
bash scripts/ensure-mpfr.sh
if "$python" -c 'import numpy, scipy' 2>/dev/null; then
    report_args+=(--scipy Benchmarks/scipy_softmax.py)
    kernel_args+=(--scipy Benchmarks/scipy_softmax.py --python "$python")
else
    echo "bench.sh: $python with numpy and scipy not found: the SciPy baseline is skipped (pip install scipy)" >&2
fi

# This CPU's build (scripts/target-cpu.sh: FMA when it has it, else portable), in its own folder.
. scripts/target-cpu.sh
build=(swift build -c release --package-path Benchmarks --scratch-path "Benchmarks/.build$build_suffix")
echo "bench.sh: building Benchmarks/ in release (the first build takes a few minutes)..." >&2
bin="$("${build[@]}" --show-bin-path)"
if [ "$kernels_only" = 0 ]; then
    "${build[@]}" --product bench-report >&2
    "$bin/bench-report" "${report_args[@]}"
    echo
fi
"${build[@]}" --product kernel-bench >&2
"$bin/kernel-bench" "${kernel_args[@]}"

if [ "$suite" = 1 ]; then
    swift package --package-path Benchmarks benchmark
fi
