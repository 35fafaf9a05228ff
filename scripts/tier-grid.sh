#!/usr/bin/env bash
# The certified oracle on every function x every harness family at K = 100 000, through
# `softmax-oracle eval`, against the plain 128-bit MPFR softmax C loop on the same row (issue 13's
# target: at least 10x). Prints a markdown table and the cells that fall short (start-up-bound
# cells apart). The fused linear_cross_entropy* functions run only when --functions names them.
# Each binary frame is also given to process-floor (Benchmarks/process-floor/process-floor.c,
# compiled here with the C compiler and linked as the CLI is, static or not): the fastest any
# process that reads the request and writes an answer of the same size could be. Cells where
# even that falls under 10x are counted apart ("floor bound").
#
#   bash scripts/tier-grid.sh [tier-grid options: --k N --repeats R --format F --functions a,b --families a,b]
#   bash scripts/tier-grid.sh --memory --k 1000000    # cross_entropy_grad's peak memory, in-process
#   bash scripts/tier-grid.sh --threads --k 1000000   # one row's softmax on 1 and 2 threads
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-mpfr.sh
. scripts/target-cpu.sh  # this CPU's build (FMA when it has it; the CLI static), SOFTMAX_ORACLE_TARGET_CPU=portable: portable
oracle=(swift build "${oracle_args[@]}")
bench=(swift build -c release --package-path Benchmarks --scratch-path "Benchmarks/.build$build_suffix")
"${oracle[@]}" --product softmax-oracle >&2
"${bench[@]}" --product tier-grid >&2
bin="$("${bench[@]}" --show-bin-path)"
# Both executables are timed from copies written by cp into a scratch folder: a file just written
# by the linker (lld writes its output through mmap) costs more page faults at every exec than the
# same bytes written in order, as an installed or copied binary is (a one-logit eval: 97 faults
# against 85, about 0.05 ms, measured with spawn-style runs on 2026-12-06).
run_dir="$(mktemp -d)"
trap 'rm -rf "$run_dir"' EXIT
cp "$("${oracle[@]}" --show-bin-path)/softmax-oracle" "$run_dir/softmax-oracle"
floor_args=()
if [ "$oracle_link" = static ]; then floor_link=(-static); else floor_link=(); fi
if "${CC:-cc}" -O2 "${floor_link[@]}" -o "$run_dir/process-floor.linked" Benchmarks/process-floor/process-floor.c >&2 &&
    cp "$run_dir/process-floor.linked" "$run_dir/process-floor"; then
    floor_args=(--floor "$run_dir/process-floor")
else
    echo "tier-grid.sh: cannot compile Benchmarks/process-floor/process-floor.c with ${CC:-cc}: no floor column" >&2
fi
"$bin/tier-grid" --oracle "$run_dir/softmax-oracle" "${floor_args[@]}" "$@"
