#!/usr/bin/env bash
# setup.sh: installs the Debian packages streambed builds and tests with, only those missing.
# Safe to run again; does nothing (and needs no network) when everything is present. Also
# installs the portal's npm packages (portal/package-lock.json) when they are missing or stale.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache make
  libboost1.81-dev      # Asio + Beast (header-only, compiled once in engine/asio_impl.cpp)
  libssl-dev            # TLS for wss:// and https://
  zlib1g-dev
  libsqlite3-dev        # the recorder
  nlohmann-json3-dev    # JSON parsing of client messages, configs
  libcli11-dev          # command-line parsing
  libspdlog-dev libfmt-dev  # logging and formatting
  libxxhash-dev         # block and transaction hashes
  libhiredis-dev pkgconf  # the cluster's Redis client (serve --redis), found by pkg-config
  redis-server          # the Redis of the cluster tests and of docs/scale-out.md
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  chromium              # the dashboard's browser tests (driven by playwright-core)
  clang-14 libclang-rt-14-dev  # the fuzz preset: libFuzzer, ASan and UBSan runtimes for clang
  clang-format-14              # make format / format-check: the one formatter (docs/style.md)
)
# The portal (TypeScript, built by npm): Debian's node and npm, unless a node is installed
# already (NodeSource's bundles npm, and conflicts with Debian's npm package).
command -v node >/dev/null || packages+=(nodejs)
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages and not root; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The portal's npm packages, exactly as locked, whenever the lock is newer than the install.
portal="$(dirname "$0")/../portal"
if [ ! -f "$portal/node_modules/.package-lock.json" ] ||
   [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in portal/" >&2
  (cd "$portal" && npm ci --no-audit --no-fund)
fi
