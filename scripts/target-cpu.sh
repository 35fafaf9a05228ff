#!/usr/bin/env bash
# The one place that decides which build a release binary of this checkout is (README, "Build for
# this CPU"; docs/kernels.md, "Two builds, one bound"): for which CPU, and how the CLI is linked.
#
# CPU. Package.swift reads the answer from SOFTMAX_ORACLE_TARGET_CPU: an LLVM CPU name compiles
# every target for that CPU with hardware FMA (DOUBLEWORD_FMA); empty means the portable build
# (Dekker's products, 4 SIMD lanes). Both builds have the same error bounds and the same certified
# outputs.
#
#   SOFTMAX_ORACLE_TARGET_CPU unset          this CPU's FMA build when it has one: `native` on an
#                                            x86-64 whose cpuinfo lists fma, avx2 and avx512f,
#                                            x86-64-v3 with fma and avx2 alone, else portable
#                                            (arm64 has FMA in its baseline: portable is its FMA build)
#   SOFTMAX_ORACLE_TARGET_CPU= or =portable  the portable build
#   SOFTMAX_ORACLE_TARGET_CPU=NAME           that LLVM CPU (haswell, x86-64-v3, znver4, ...)
#
# Link. The release CLI (make report, the bench scripts, tier-grid.sh) is a fully static executable
# on Linux when the static libraries are there (the toolchain's swift_static, libmpfr.a, libgmp.a,
# libc.a, libstdc++.a): `--static-swift-stdlib -Xswiftc -static-executable`. Its start-up, a fixed
# cost of every `eval`, is then about a sixth of the dynamic build's CPU time (with the flag below):
# no ld.so mapping ~20 shared libraries and resolving their ~5000 symbols. A static glibc binary is
# for the machine that built it (glibc's NSS and dlopen would want that glibc's shared libraries;
# the CLI does not need them), which is what these builds are; `make dist` links glibc dynamically
# for other machines. The static CLI is also compiled with
# -disable-concrete-type-metadata-mangled-name-accessors: generic types such as Set<String> get
# their metadata from direct accessors instead of demangling a name at first use, which meant
# scanning every protocol conformance of the static binary (Foundation's included); a one-request
# `eval` took 14% less CPU time. Same code otherwise, same outputs.
# Its layout: when the toolchain has lld, the static CLI is compiled with -function-sections and
# linked by lld with --symbol-ordering-file=scripts/eval-symbol-order.txt, the functions and data
# that `eval` runs and writes, measured by scripts/eval-symbol-order.py. They then share pages:
# a one-logit `eval` took 168-189 page faults with the linker's order (88 on code: the code it
# runs spread over 8 MB of the 16 MB text; about 1.5 µs a fault here) and 110-120 with this one
# (36-44 on code; the rest is the runtime's first writes to its data, which Swift's objects do
# not put in sections of their own). Regenerated once the script read perf's fields in perf's
# order (address before ip: the data a fault wrote had been taken for code) and put glibc's IFUNC
# resolvers first, and remade from an empty list: 105-106 -> 84-85 minor faults (getrusage;
# binaries copied with cp, as the linker's own output file faults ~16 more from the page cache)
# on a one-logit binary `eval`, 96-97 -> 81-82 on 10^5 logits. The standard library's non-generic code and its data are one
# section each (Swift.o in libswiftCore.a): its 1.6 MB of code and 86 KB of .bss stay in one
# piece. Same code, same outputs. A scratch folder built before
# these flags keeps its objects (the compiler does not rebuild for -function-sections): delete
# its *.swift.o files once.
#
#   SOFTMAX_ORACLE_LINK unset or =static     static when possible, else dynamic (with a note why)
#   SOFTMAX_ORACLE_LINK=dynamic              the shared libraries, as a plain `swift build`
#
# Each choice has its own SwiftPM scratch folder, so that switching does not rebuild everything:
# .build for the portable build, .build-NAME otherwise (Benchmarks/.build-NAME for Benchmarks/,
# which links the libraries into its own tools and is never static), and a -static suffix for the
# static CLI (.build-native-static).
#
# Sourced (`. scripts/target-cpu.sh`): exports SOFTMAX_ORACLE_TARGET_CPU (the resolved name, empty
# for portable), sets build_suffix ("" or "-NAME", for Benchmarks/) and oracle_args (the
# `swift build`/`swift run` arguments of the release CLI: -c release, its scratch folder, the
# static flags) and prints the choice on stderr.
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

# Why this machine cannot link the CLI statically (on stdout), or nothing when it can: Linux, the
# toolchain's static runtime, and an archive of each C library the static link needs.
softmax_oracle_static_missing() {
    local resources lib libdir
    [ "$(uname -s)" = Linux ] || { echo "static executables are a Linux feature"; return; }
    resources="$(swiftc -print-target-info 2>/dev/null | sed -n 's/.*"runtimeResourcePath": "\(.*\)".*/\1/p')"
    if [ ! -f "${resources}_static/linux/static-executable-args.lnk" ]; then
        echo "the Swift toolchain has no static runtime (${resources:-?}_static/linux)"; return
    fi
    libdir="$(pkg-config --variable=libdir mpfr 2>/dev/null || true)"
    for lib in mpfr gmp c stdc++; do
        if [ ! -f "$libdir/lib$lib.a" ] && [ ! -f "$(cc -print-file-name="lib$lib.a" 2>/dev/null)" ]; then
            echo "lib$lib.a not found (Debian/Ubuntu: libmpfr-dev, libgmp-dev, libc6-dev, libstdc++-NN-dev)"; return
        fi
    done
}

# The release CLI's link, static or dynamic (SOFTMAX_ORACLE_LINK, above); a note on stderr when
# static was asked for and cannot be had.
softmax_oracle_resolve_link() {
    local missing
    case "${SOFTMAX_ORACLE_LINK:-static}" in
        dynamic) echo dynamic ;;
        static)
            missing="$(softmax_oracle_static_missing)"
            if [ -z "$missing" ]; then echo static; else
                echo "target-cpu.sh: dynamic link of the CLI: $missing" >&2; echo dynamic
            fi ;;
        *) echo "target-cpu.sh: SOFTMAX_ORACLE_LINK=$SOFTMAX_ORACLE_LINK: use static or dynamic" >&2; return 2 ;;
    esac
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
    oracle_link="$(softmax_oracle_resolve_link)" || return 2
    if [ "$oracle_link" = static ]; then
        oracle_args=(-c release --scratch-path ".build$build_suffix-static" --static-swift-stdlib -Xswiftc -static-executable
            -Xswiftc -Xfrontend -Xswiftc -disable-concrete-type-metadata-mangled-name-accessors)
        softmax_oracle_order="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/eval-symbol-order.txt"
        if [ -f "$softmax_oracle_order" ] && { [ -x "$(dirname "$(command -v swiftc)")/ld.lld" ] || command -v ld.lld >/dev/null; }; then
            oracle_args+=(-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=lld
                -Xlinker "--symbol-ordering-file=$softmax_oracle_order" -Xlinker --no-warn-symbol-ordering)
        fi
        echo "the CLI: a static executable (scratch .build$build_suffix-static; SOFTMAX_ORACLE_LINK=dynamic" \
            "for the shared libraries)" >&2
    else
        oracle_args=(-c release --scratch-path ".build$build_suffix")
    fi
else
    set -euo pipefail
    case "${1:-}" in
        "") cpu="$(softmax_oracle_resolve_cpu)"; softmax_oracle_describe "$cpu"; echo "$cpu" ;;
        --detect) cpu="$(softmax_oracle_detect_cpu)"; echo "$cpu" ;;
        *) echo "target-cpu.sh: unknown option $1 (none or --detect)" >&2; exit 2 ;;
    esac
fi
