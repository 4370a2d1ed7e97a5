#!/usr/bin/env bash
# setup.sh [build|test|fuzz|format|all]: installs the Debian packages a make target needs, only
# those missing, so a bare machine's `make build` does not wait for a browser or a second
# compiler it will not use. Safe to run again; does nothing (and needs no network) when
# everything is present. `build` and `test` also fetch npm itself when it is missing (from the
# npm registry, not Debian) and install the portal's npm packages (portal/package-lock.json)
# when they are missing or stale. Without an argument: all.
set -euo pipefail

purpose="${1:-all}"
case "$purpose" in build | test | fuzz | format | all) ;; *)
  echo "setup: unknown purpose '$purpose' (build, test, fuzz, format or all)" >&2
  exit 2
  ;;
esac

# The release build: CMake finds every library at configure time, GoogleTest and Google
# Benchmark included, so `make build` needs them too.
build=(
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
  liburing-dev          # io_uring: a shard's writes to many connections in one system call
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
)
# What the suite runs besides the program (make test, and the sanitizer suites).
test=(
  redis-server          # the Redis of the cluster tests and of docs/scale-out.md
  chromium              # the dashboard's browser tests (driven by playwright-core)
)
fuzz=(clang-14 libclang-rt-14-dev)  # the fuzz preset: libFuzzer, ASan and UBSan runtimes for clang
format=(clang-format-14)            # make format / format-check: the one formatter (docs/style.md)

packages=()
case "$purpose" in
  build) packages=("${build[@]}") ;;
  test) packages=("${build[@]}" "${test[@]}") ;;
  fuzz) packages=("${build[@]}" "${fuzz[@]}") ;;
  format) packages=("${format[@]}") ;;
  all) packages=("${build[@]}" "${test[@]}" "${fuzz[@]}" "${format[@]}") ;;
esac
# The portal (TypeScript, built by npm): Debian's node unless a node is installed already. npm
# itself comes from the npm registry (below): Debian's npm package pulls 335 node-* packages,
# half of a bare machine's set-up time (docs/benchmarks.md, "Build time").
if [ "$purpose" != format ]; then
  command -v node >/dev/null || packages+=(nodejs)
fi

# The portal's npm packages, exactly as locked, whenever the lock is newer than the install.
portal="$(dirname "$0")/../portal"
portal_npm_ci() {
  if [ ! -f "$portal/node_modules/.package-lock.json" ] ||
     [ "$portal/package-lock.json" -nt "$portal/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in portal/" >&2
    (cd "$portal" && npm ci --no-audit --no-fund)
  fi
}
# With node and npm on the machine already, the portal's packages download while apt installs
# (about 4 s of a bare machine's `make build`, docs/benchmarks.md "Build time").
npm_pid=
if [ "$purpose" != format ] && [ "$purpose" != fuzz ] && command -v node >/dev/null &&
   command -v npm >/dev/null; then
  portal_npm_ci &
  npm_pid=$!
  # Never left running behind a failed step: whatever ends the script waits for it first.
  trap 'wait "$npm_pid" 2>/dev/null || true' EXIT
fi

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

if [ "$purpose" = format ] || [ "$purpose" = fuzz ]; then exit 0; fi

# npm, when missing: one tarball from the registry, checked against its dist.integrity, linked
# as /usr/local/bin/npm. 10.8.2 runs on Debian's node 18 (engines: ^18.17.0 || >=20.5.0).
npm_version=10.8.2
npm_integrity='sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w=='
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: npm is missing and not root; install npm, or run this as root" >&2
    exit 1
  fi
  npm_dir=/usr/local/lib/npm-$npm_version
  echo "setup: fetching npm $npm_version from the npm registry" >&2
  tarball=$(mktemp)
  node "$(dirname "$0")/fetch_npm.mjs" "https://registry.npmjs.org/npm/-/npm-$npm_version.tgz" \
    "$tarball" "$npm_integrity"
  mkdir -p "$npm_dir"
  tar -xzf "$tarball" -C "$npm_dir" --strip-components=1 --no-same-owner
  rm -f "$tarball"
  ln -sf "$npm_dir/bin/npm-cli.js" /usr/local/bin/npm
  ln -sf "$npm_dir/bin/npx-cli.js" /usr/local/bin/npx
fi

if [ -n "$npm_pid" ]; then
  wait "$npm_pid" || { echo "setup: npm ci in portal/ failed (above)" >&2; exit 1; }
else
  portal_npm_ci
fi
