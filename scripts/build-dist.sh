#!/usr/bin/env bash
# Builds the self-contained release binary dist/softmax-oracle (`make dist`): the Swift standard
# library and Foundation linked statically (--static-swift-stdlib), MPFR and GMP linked statically
# too, so that it runs on any x86-64 Linux with glibc and libstdc++ (no Swift, no libmpfr).
#
# How MPFR/GMP become static without touching Package.swift: the CMPFR module asks pkg-config for
# MPFR's link flags (-L<libdir> -lmpfr -lgmp); ld takes, for -lNAME, the first directory on its
# search path that holds libNAME.so or libNAME.a. We give SwiftPM (PKG_CONFIG_PATH) a copy of
# mpfr.pc whose libdir is a directory holding only libmpfr.a and libgmp.a (symbolic links to the
# system's archives), so that ld finds the archives first. A plain `swift build` reads the
# system's mpfr.pc and is unchanged.
#
# Afterwards the script checks the result: no libswift*, libFoundation*, libmpfr or libgmp among
# the NEEDED entries, and prints the NEEDED list and the newest glibc symbol version it uses.
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
out="dist"
# Its own build directory: the static link changes SwiftPM's flags, and sharing .build would make
# every switch between `make dist` and a plain release build recompile everything.
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
mkdir -p "$scratch"
# Reuse the dependencies already fetched into .build, if any (no network needed then).
if [ -d .build/checkouts ] && [ ! -d "$scratch/checkouts" ]; then
    cp -R .build/checkouts .build/repositories "$scratch/" 2>/dev/null || true
fi
mkdir -p "$static_dir/pkgconfig" "$out"
ln -s "$(archive mpfr)" "$static_dir/libmpfr.a"
ln -s "$(archive gmp)" "$static_dir/libgmp.a"
sed "s|^libdir=.*|libdir=$static_dir|" "$(pkg-config --variable=pcfiledir mpfr)/mpfr.pc" > "$static_dir/pkgconfig/mpfr.pc"

PKG_CONFIG_PATH="$static_dir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
    "$SWIFT" build -c release --scratch-path "$scratch" --product softmax-oracle --static-swift-stdlib
bin="$("$SWIFT" build -c release --scratch-path "$scratch" --show-bin-path)/softmax-oracle"
cp "$bin" "$out/softmax-oracle.tmp"
strip "$out/softmax-oracle.tmp" 2>/dev/null || true
mv "$out/softmax-oracle.tmp" "$out/softmax-oracle"

needed="$(readelf -d "$out/softmax-oracle" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')"
if echo "$needed" | grep -E '^lib(swift|Foundation|mpfr|gmp|dispatch|BlocksRuntime)' >&2; then
    echo "build-dist: $out/softmax-oracle still needs the shared libraries above" >&2
    exit 1
fi
glibc="$(objdump -T "$out/softmax-oracle" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
echo "build-dist: $out/softmax-oracle ($(du -h "$out/softmax-oracle" | cut -f1)), needs:" $needed "; newest symbol version: $glibc" >&2
"$out/softmax-oracle" --version
