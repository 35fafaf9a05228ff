#!/usr/bin/env bash
# The one place that decides which build a release binary of this checkout is (README, "Build for
# this CPU"; docs/kernels.md, "Two builds, one bound"). Package.swift reads the answer from
# SOFTMAX_ORACLE_TARGET_CPU: an LLVM CPU name compiles every target for that CPU with hardware FMA
# (DOUBLEWORD_FMA); empty means the portable build (Dekker's products, 4 SIMD lanes). Both builds
# have the same error bounds and the same certified outputs.
#
#   SOFTMAX_ORACLE_TARGET_CPU unset          this CPU's FMA build when it has one: `native` on an
#                                            x86-64 whose cpuinfo lists fma, avx2 and avx512f,
#                                            x86-64-v3 with fma and avx2 alone, else portable
#                                            (arm64 has FMA in its baseline: portable is its FMA build)
#   SOFTMAX_ORACLE_TARGET_CPU= or =portable  the portable build
#   SOFTMAX_ORACLE_TARGET_CPU=NAME           that LLVM CPU (haswell, x86-64-v3, znver4, ...)
#
# Each choice has its own SwiftPM scratch folder, so that switching does not rebuild everything:
# .build for the portable build, .build-NAME otherwise (Benchmarks/.build-NAME for Benchmarks/).
#
# Sourced (`. scripts/target-cpu.sh`): exports SOFTMAX_ORACLE_TARGET_CPU (the resolved name, empty
# for portable), sets build_suffix ("" or "-NAME") and prints the choice on stderr.
# Run: `bash scripts/target-cpu.sh` prints the resolved name (an empty line for portable) on stdout
# and the choice on stderr; `--detect` prints what this CPU gets when nothing is set.

# This CPU's FMA build: `native` (its widest vectors) with AVX-512, x86-64-v3 with FMA and AVX2
# alone, else nothing (portable).
softmax_oracle_detect_cpu() {
    local flags=""
    case "$(uname -m)" in
        x86_64 | amd64)
            if [ -r /proc/cpuinfo ]; then
                flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
            elif command -v sysctl >/dev/null 2>&1; then  # macOS: FMA AVX2 in upper case
                flags=" $(sysctl -n machdep.cpu.features machdep.cpu.leaf7_features 2>/dev/null | tr 'A-Z\n' 'a-z ') "
            fi
            # AVX-512: `native` (8 double-word lanes, 32 registers). FMA and AVX2 alone: x86-64-v3,
            # which Package.swift builds with 4 lanes (8 spill AVX2's 16 registers).
            case "$flags" in *" fma "*) case "$flags" in *" avx2 "*)
                case "$flags" in *" avx512f "*) echo native ;; *) echo x86-64-v3 ;; esac ;; esac ;; esac
            ;;
    esac
}

softmax_oracle_resolve_cpu() {
    if [ -z "${SOFTMAX_ORACLE_TARGET_CPU+set}" ]; then
        softmax_oracle_detect_cpu
    elif [ "$SOFTMAX_ORACLE_TARGET_CPU" != portable ]; then
        echo "$SOFTMAX_ORACLE_TARGET_CPU"
    fi
}

# The choice, on stderr: which build, its scratch folder, how to change it.
softmax_oracle_describe() {
    if [ -n "$1" ]; then
        echo "build for CPU $1 with hardware FMA (scratch .build-$1; SOFTMAX_ORACLE_TARGET_CPU=portable" \
            "for the portable build)" >&2
    else
        echo "portable build (scratch .build; SOFTMAX_ORACLE_TARGET_CPU=native for this CPU's FMA build)" >&2
    fi
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then  # sourced
    SOFTMAX_ORACLE_TARGET_CPU="$(softmax_oracle_resolve_cpu)"
    export SOFTMAX_ORACLE_TARGET_CPU
    build_suffix="${SOFTMAX_ORACLE_TARGET_CPU:+-$SOFTMAX_ORACLE_TARGET_CPU}"
    softmax_oracle_describe "$SOFTMAX_ORACLE_TARGET_CPU"
else
    set -euo pipefail
    case "${1:-}" in
        "") cpu="$(softmax_oracle_resolve_cpu)"; softmax_oracle_describe "$cpu"; echo "$cpu" ;;
        --detect) cpu="$(softmax_oracle_detect_cpu)"; echo "$cpu" ;;
        *) echo "target-cpu.sh: unknown option $1 (none or --detect)" >&2; exit 2 ;;
    esac
fi
