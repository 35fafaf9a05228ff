#!/usr/bin/env bash
# Makes sure MPFR and GMP (headers, libraries and their pkg-config file) are installed.
# On Debian/Ubuntu as root it installs libmpfr-dev and libgmp-dev with apt-get; elsewhere it says
# what to install and fails.
set -euo pipefail

have_mpfr() {
    command -v pkg-config >/dev/null 2>&1 && pkg-config --exists mpfr && [ -f "$(pkg-config --variable=includedir mpfr)/mpfr.h" ]
}

if have_mpfr; then
    echo "ensure-mpfr: MPFR $(pkg-config --modversion mpfr) found" >&2
    exit 0
fi

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "ensure-mpfr: installing libmpfr-dev libgmp-dev pkg-config with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq libmpfr-dev libgmp-dev pkg-config >/dev/null
    if have_mpfr; then
        echo "ensure-mpfr: MPFR $(pkg-config --modversion mpfr) installed" >&2
        exit 0
    fi
fi

cat >&2 <<'MSG'
ensure-mpfr: MPFR was not found and could not be installed here.
Install MPFR and GMP with their headers and pkg-config files, e.g.
  Debian/Ubuntu:  sudo apt-get install libmpfr-dev libgmp-dev pkg-config
  Fedora:         sudo dnf install mpfr-devel gmp-devel pkgconf
  macOS:          brew install mpfr gmp pkg-config
MSG
exit 1
