#!/usr/bin/env bash
# Builds the platform wheel dist/softmax_oracle-VERSION-py3-none-PLATFORM.whl (`make wheel`): the
# Python package of python/ with the self-contained binaries of `make dist` bundled as
# softmax_oracle/bin/softmax-oracle (portable) and softmax_oracle/bin/softmax-oracle-x86-64-v4 (FMA
# and AVX-512, when built), of which the package runs the fastest this CPU supports when
# $SOFTMAX_ORACLE_BIN is not set (python/softmax_oracle/_process.py, find_binary).
#
# The platform tag: manylinux_2_M_x86_64 when the binaries' shared libraries are all ones that the
# manylinux policies allow every system to have (glibc's, libgcc_s, libstdc++) and M is the newest
# GLIBC_2.M symbol version they use (they then run on glibc 2.M and later); else linux_x86_64.
# The wheel is built in a staging copy of python/ (dist/wheel-src) so that the source tree never
# holds the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
bin="dist/softmax-oracle"
[ -x "$bin" ] || { echo "build-wheel: $bin missing: run make dist first" >&2; exit 1; }
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then  # e.g. Debian's python3 without python3-pip
    "$PYTHON" -m venv .venv-wheel
    PYTHON=".venv-wheel/bin/python3"
fi

allowed='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libgcc_s\.so\.1|libstdc\+\+\.so\.6|ld-linux-x86-64\.so\.2)$'
bins=("$bin" dist/softmax-oracle-x86-64-v*)
[ -e "${bins[1]}" ] || bins=("$bin")
needed="$(for b in "${bins[@]}"; do readelf -d "$b"; done | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort -u)"
glibc_minor="$(for b in "${bins[@]}"; do objdump -T "$b"; done | grep -o 'GLIBC_2\.[0-9]*' | sed 's/GLIBC_2\.//' | sort -n | tail -1)"
if [ "$(uname -m)" = x86_64 ] && [ -n "$glibc_minor" ] && ! echo "$needed" | grep -qvE "$allowed"; then
    platform="manylinux_2_${glibc_minor}_x86_64"
else
    platform="linux_$(uname -m)"
fi

stage="dist/wheel-src"
rm -rf "$stage"
mkdir -p "$stage"
cp -R python/. "$stage/"
rm -rf "$stage/build" "$stage"/*.egg-info "$stage/tests"
find "$stage" -name __pycache__ -prune -exec rm -rf {} +
mkdir -p "$stage/softmax_oracle/bin"
cp "${bins[@]}" "$stage/softmax_oracle/bin/"
chmod 755 "$stage"/softmax_oracle/bin/*

rm -f dist/softmax_oracle-*.whl
SOFTMAX_ORACLE_WHEEL_PLATFORM="$platform" "$PYTHON" -m pip wheel --quiet --disable-pip-version-check \
    --no-deps --wheel-dir dist "$stage"
rm -rf "$stage"
wheel="$(ls dist/softmax_oracle-*.whl)"
echo "build-wheel: $wheel ($(du -h "$wheel" | cut -f1); ${bins[*]##*/}; they need:" $needed "; newest GLIBC_2.$glibc_minor)" >&2
