#!/usr/bin/env bash
# Builds the self-contained release binaries of `make dist`: the Swift standard library and
# Foundation linked statically (--static-swift-stdlib), MPFR and GMP linked statically too, so that
# they run on any x86-64 Linux with glibc and libstdc++ (no Swift, no libmpfr). Two builds, the
# same error bounds and certified outputs (docs/kernels.md, "Two builds, one bound"):
#   dist/softmax-oracle                portable (any x86-64 or arm64 CPU; Dekker's products on x86-64)
#   dist/softmax-oracle-x86-64-v4      on an x86-64 host: for CPUs with FMA and AVX-512 (x86-64-v4,
#                                      hardware FMA); the Python package runs it when the CPU has them
# DIST_FMA_CPU=x86-64-v3 builds the FMA + AVX2 level instead (4 double-word lanes; on this AVX-512
# machine a little slower than v4 on f64, README "Build for this CPU"), DIST_FMA_CPU= only the
# portable build.
#
# How MPFR/GMP become static without touching Package.swift: the CMPFR module asks pkg-config for
# MPFR's link flags (-L<libdir> -lmpfr -lgmp); ld takes, for -lNAME, the first directory on its
# search path that holds libNAME.so or libNAME.a. We give SwiftPM (PKG_CONFIG_PATH) a copy of
# mpfr.pc whose libdir is a directory holding only libmpfr.a and libgmp.a (symbolic links to the
# system's archives), so that ld finds the archives first. A plain `swift build` reads the
# system's mpfr.pc and is unchanged.
#
# Afterwards the script checks each result: no libswift*, libFoundation*, libmpfr or libgmp among
# the NEEDED entries, and prints the NEEDED list and the newest glibc symbol version it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
out="dist"
fma_cpu="${DIST_FMA_CPU-x86-64-v4}"
[ "$(uname -m)" = x86_64 ] || fma_cpu=""  # arm64: FMA is in the portable build already
case "$fma_cpu" in  # the names the Python package looks for (_process.py, X86_64_BUILDS)
    "" | x86-64-v3 | x86-64-v4) ;;
    *) echo "build-dist: DIST_FMA_CPU=$fma_cpu: use x86-64-v3, x86-64-v4 or nothing" >&2; exit 2 ;;
esac
# Their own build directories (.build-dist, .build-dist-CPU): the static link changes SwiftPM's
# flags, and sharing .build would make every switch between `make dist` and a plain release build
# recompile everything.
scratch="$PWD/.build-dist"
static_dir="$scratch/static-libs"

archive() {  # the path of lib$1.a: in MPFR's libdir, else where the C compiler finds it
    local libdir f
    libdir="$(pkg-config --variable=libdir mpfr 2>/dev/null || true)"
    for f in "$libdir/lib$1.a" "$(cc -print-file-name="lib$1.a" 2>/dev/null || true)"; do
        if [ -f "$f" ]; then echo "$f"; return 0; fi
    done
    echo "build-dist: lib$1.a not found (Debian/Ubuntu: apt-get install libmpfr-dev libgmp-dev)" >&2
    return 1
}

rm -rf "$static_dir"
mkdir -p "$static_dir/pkgconfig" "$out"
ln -s "$(archive mpfr)" "$static_dir/libmpfr.a"
ln -s "$(archive gmp)" "$static_dir/libgmp.a"
sed "s|^libdir=.*|libdir=$static_dir|" "$(pkg-config --variable=pcfiledir mpfr)/mpfr.pc" > "$static_dir/pkgconfig/mpfr.pc"

# build CPU SCRATCH NAME: dist/NAME, built for the LLVM CPU (empty: portable) in SCRATCH.
build() {
    local cpu="$1" dir="$2" name="$3" bin needed glibc
    # Reuse the dependencies already fetched into .build, if any (no network needed then).
    if [ -d .build/checkouts ] && [ ! -d "$dir/checkouts" ]; then
        mkdir -p "$dir"
        cp -R .build/checkouts .build/repositories "$dir/" 2>/dev/null || true
    fi
    echo "build-dist: $out/$name (${cpu:-portable})" >&2
    SOFTMAX_ORACLE_TARGET_CPU="$cpu" PKG_CONFIG_PATH="$static_dir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        "$SWIFT" build -c release --scratch-path "$dir" --product softmax-oracle --static-swift-stdlib
    bin="$(SOFTMAX_ORACLE_TARGET_CPU="$cpu" "$SWIFT" build -c release --scratch-path "$dir" --show-bin-path)/softmax-oracle"
    cp "$bin" "$out/$name.tmp"
    strip "$out/$name.tmp" 2>/dev/null || true
    mv "$out/$name.tmp" "$out/$name"

    needed="$(readelf -d "$out/$name" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
    if echo "$needed" | grep -E '^lib(swift|Foundation|mpfr|gmp|dispatch|BlocksRuntime)' >&2; then
        echo "build-dist: $out/$name still needs the shared libraries above" >&2
        exit 1
    fi
    glibc="$(objdump -T "$out/$name" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
    echo "build-dist: $out/$name ($(du -h "$out/$name" | cut -f1)), needs:" $needed "; newest symbol version: $glibc" >&2
}

build "" "$scratch" softmax-oracle
rm -f "$out"/softmax-oracle-x86-64-v*
if [ -n "$fma_cpu" ]; then
    build "$fma_cpu" "$scratch-$fma_cpu" "softmax-oracle-$fma_cpu"
fi
"$out/softmax-oracle" --version
