# streambed — the two commands of the quick start, and a few more.
#   make serve   build, then run the server + simulator on 127.0.0.1:9003 (the dashboard at /),
#                recording every frame to recordings/latest.db
#   make test    build, then run the whole test suite (the scenario library and the portal's
#                node and browser tests included), in the release build: the quick check
#   make check   what CI adds after `make test`: the suite under ASan+UBSan and ThreadSanitizer,
#                and a short run of every fuzzer
# Each target installs the missing Debian packages it needs first (scripts/setup.sh PURPOSE:
# `make build` no browser, no clang) and is safe to rerun.

JOBS ?= $(shell nproc)
# ccache hits across checkouts in different folders (CI clones afresh each time).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
SERVE_ARGS ?=

.PHONY: all setup build build-all serve test check test-release test-asan test-fuzz fuzz test-tsan format format-check bench bench-shapes bench-floor bench-cluster bench-nodes bench-hop bench-compare soak clean

all: build

setup:
	@bash scripts/setup.sh

# `build` is the program and the dashboard it serves; the tests and micro-benchmarks are built
# by the targets that run them (build-all).
build:
	@bash scripts/setup.sh build
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target streambed portal

build-all: build
	@bash scripts/setup.sh test
	@cmake --build --preset release -j $(JOBS)

# The previous recording is kept as recordings/previous.db.
serve: build
	@mkdir -p recordings
	@if [ -f recordings/latest.db ]; then mv -f recordings/latest.db recordings/previous.db; rm -f recordings/latest.db-wal recordings/latest.db-shm; fi
	./build/streambed serve --record recordings/latest.db $(SERVE_ARGS)

test: test-release

check: test-asan test-tsan test-fuzz

test-release: build-all
	ctest --preset release -j $(JOBS) --timeout 300

# The scenario library runs in the release build only: its expectations are timings. So do the
# portal's tests (label portal): they drive the release program and a browser, and the
# sanitizer builds do not build the portal.
test-asan:
	@bash scripts/setup.sh test
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS) --timeout 600 -LE 'scenario|portal'

# Every libFuzzer target of fuzz/ for FUZZ_SMOKE_SECONDS (5) each, from its corpus in
# fixtures/fuzz/: a crash fails the run (fuzz/README.md).
FUZZ_SMOKE_SECONDS ?= 5
test-fuzz:
	@bash scripts/setup.sh fuzz
	@cmake --preset fuzz -DFUZZ_SMOKE_SECONDS=$(FUZZ_SMOKE_SECONDS) >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	ctest --preset fuzz -j $(JOBS) --timeout 300

# The long run: every fuzzer for FUZZ_SECONDS (600) in turn; the figures go to
# build-fuzz/fuzz-summary.txt (docs/robustness.md records them). FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 600
fuzz:
	@bash scripts/setup.sh fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" ./scripts/fuzz.sh

# ThreadSanitizer over every in-process test (hub fan-out, subscription churn, shutdown, ...).
test-tsan:
	@bash scripts/setup.sh test
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS) --timeout 600 -LE 'process|scenario|portal'

# Micro-benchmarks of the hot paths, then the end-to-end fan-out figures (docs/benchmarks.md).
bench: build-all
	./build/bench/engine_bench
	./build/bench/simulator_bench
	./build/bench/recorder_bench --benchmark_filter=BM_RecorderFrames/1048576
	./build/streambed bench --clients 1000 --duration 30s

# The four fan-out shapes of docs/benchmarks.md (SHAPES, THREADS, WINDOWS, DURATION may be set).
bench-shapes: build
	./scripts/bench_shapes.sh

# Issue 13's lateness: the server's p99 against the floor's over RUNS runs (CLIENTS, DURATION).
bench-floor: build
	./scripts/bench_floor.sh

# Issue 14's numbers: one node against three on one redis-server (CLIENTS, DURATION, SCALE).
bench-cluster: build
	@bash scripts/setup.sh test
	./scripts/bench_cluster.sh

# Issue 14's per-node CPU: the source, a follower and a single node in turn under the same load
# (CLIENTS, DURATION, SCALE, ROUNDS).
bench-nodes: build
	@bash scripts/setup.sh test
	./scripts/bench_nodes.sh

# Issue 14's Redis hop at the node, no client: a follower's due-to-hub times against the
# source's (DURATION seconds, SCALE, ROUNDS).
bench-hop: build
	@bash scripts/setup.sh test
	./scripts/bench_hop.sh

# streambed and the Node.js `ws` peer side by side under the same load (CLIENTS, DURATION,
# SCALE, ENDPOINT may be set); needs node and npm, installs the peer's one dependency.
bench-compare: build bench/peers/node_modules
	./scripts/bench_compare.sh

bench/peers/node_modules: bench/peers/package.json bench/peers/package-lock.json
	cd bench/peers && npm ci --no-audit --no-fund
	@touch $@

# The long variants of the scenario library (scenarios/soak/), reports in build/soak/.
soak: build
	@mkdir -p build/soak
	@set -e; for f in scenarios/soak/*.json; do n=$$(basename $$f .json); \
	  ./build/streambed run $$f --report build/soak/$$n.json --html build/soak/$$n.html; done

# One formatter for the tree (.clang-format; docs/style.md): `format` rewrites the C++ files in
# place, `format-check` fails naming every file that differs (CI runs it first).
CLANG_FORMAT ?= clang-format-14
format:
	@bash scripts/setup.sh format
	@git ls-files '*.cpp' '*.hpp' | xargs $(CLANG_FORMAT) -i
format-check:
	@bash scripts/setup.sh format
	@git ls-files '*.cpp' '*.hpp' | xargs $(CLANG_FORMAT) --dry-run --Werror

clean:
	rm -rf build build-asan build-tsan build-fuzz
