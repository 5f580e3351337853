# kiln: the two commands are `make demo` and `make test` (see README.md).
# Each installs what it needs first (`make setup`), so a fresh Debian machine
# needs nothing but this repository and root.

SHELL := /bin/bash
CARGO ?= cargo
KILN := target/release/kiln
APT_PACKAGES := verilator yosys zlib1g-dev g++ make
RTL := $(wildcard hw/ip/*/rtl/*.sv hw/ip/*/dv/*.sv)

.PHONY: setup setup-native setup-cross demo test no-verilator-build bench-loop lint-rtl fmt-check clippy cargo-test synth docs regs bench bench-memory bench-dwconv bench-models bench-real build onnx-testdata test-models cross cross-test deploy

# ONNX's own backend test models (small models with inputs and reference
# outputs), shipped in the onnx wheel on PyPI; the model tests read them.
ONNX_VERSION := 1.17.0
ONNX_TESTDATA := target/onnx-testdata
# The test and benchmark models (ConvTranspose, MobileNet-shaped, dense and
# sequence outputs), written by tests/models/*.py with the onnx package in a
# venv of its own (PyPI), seeded, so every machine builds the same files.
NUMPY_VERSION := 2.2.6
PYENV := target/pyenv
TEST_MODELS := $(CURDIR)/target/test-models

## setup: install missing tools: the native ones (setup-native) and the
## board toolchains (setup-cross)
setup: setup-native setup-cross

## setup-native: apt: verilator (>= 5.006), yosys, zlib headers, g++,
## libclang-dev for bindgen, tclsh for the Vivado Tcl tests, python3-venv
## for the onnx package; rustup: rustfmt and clippy. Which packages are
## missing is decided by tests/setup/missing.sh (tested by
## tests/setup_check.rs against staged trees).
setup-native:
	@missing=$$(bash tests/setup/missing.sh native | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup: installing $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	    still=$$(bash tests/setup/missing.sh native | tr '\n' ' '); \
	    [ -z "$$still" ] || { echo "setup: still missing after apt-get: $$still(verilator must be 5.006 or newer)" >&2; exit 1; }; \
	  else \
	    echo "setup: missing $$missing; install with: sudo apt-get install $$missing" >&2; exit 1; \
	  fi; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "setup: cargo is missing; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
	@if command -v rustup >/dev/null; then \
	  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt; \
	  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy; \
	fi
	@verilator --version; yosys -V

## setup-cross: the board toolchains (apt: ARM cross linkers and qemu-user;
## rustup: the armv7 and aarch64 standard libraries)
CROSS_TARGETS := armv7-unknown-linux-gnueabihf aarch64-unknown-linux-gnu
setup-cross: setup-native
	@missing=$$(bash tests/setup/missing.sh cross | tr '\n' ' '); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "setup-cross: installing $$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else \
	    echo "setup-cross: missing $$missing; install with: sudo apt-get install $$missing" >&2; exit 1; \
	  fi; \
	fi
	@for t in $(CROSS_TARGETS); do \
	  if rustc --print target-libdir --target $$t >/dev/null 2>&1 && [ -d "$$(rustc --print target-libdir --target $$t)" ] \
	     && ls "$$(rustc --print target-libdir --target $$t)"/libstd-* >/dev/null 2>&1; then continue; fi; \
	  command -v rustup >/dev/null || { echo "setup-cross: the Rust standard library for $$t is missing; install it with rustup target add $$t" >&2; exit 1; }; \
	  rustup target add $$t; \
	done

build: setup
	$(CARGO) build --release --locked

## demo: verify every PE against its golden model, the resource table, a GEMM,
## a BFP MatMul, and the bundled digits CNN on the shift-PE and multiplier designs
demo: build
	$(KILN) pe verify --all
	@echo
	$(KILN) synth --all --part xc7z020
	@echo
	$(KILN) gemm --design gemm-pot-8x8 --m 256 --n 256 --k 256 --board pynq-z1
	@echo
	$(KILN) matmul --design bfp-mxint8 --m 1 --k 2048 --n 2048 --board pynq-z1
	@echo
	$(KILN) run --backend sim --design gemm-pot-8x8 --design gemm-mac-dsp-8x8 --board pynq-z1 --board kv260 --html target/digits-report.html

## test: format, lints, RTL lint, every cargo test (the xrt transport
## against kiln's XRT emulation included), then the board binaries under
## qemu-user against the native golden results
test: setup fmt-check clippy lint-rtl onnx-testdata test-models cargo-test cross-test no-verilator-build

## onnx-testdata: fetch the onnx wheel from PyPI (needs python3 and pip) and
## unpack the backend test models the model tests use
onnx-testdata: $(ONNX_TESTDATA)/.stamp
$(ONNX_TESTDATA)/.stamp:
	@command -v python3 >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-pip; \
	  else echo "onnx-testdata: python3 is missing; install with: sudo apt-get install python3 python3-pip" >&2; exit 1; fi; }
	@python3 -m pip --version >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-pip; \
	  else echo "onnx-testdata: pip is missing; install with: sudo apt-get install python3-pip" >&2; exit 1; fi; }
	rm -rf $(ONNX_TESTDATA) && mkdir -p $(ONNX_TESTDATA)/wheel
	python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
	  --python-version 3.11 --implementation cp onnx==$(ONNX_VERSION) -d $(ONNX_TESTDATA)/wheel
	python3 -c 'import sys, zipfile, glob; z = zipfile.ZipFile(glob.glob(sys.argv[1] + "/wheel/*.whl")[0]); \
	  [z.extract(n, sys.argv[1]) for n in z.namelist() if "/backend/test/data/node/" in n]' $(ONNX_TESTDATA)
	rm -rf $(ONNX_TESTDATA)/wheel && touch $@

## test-models: the onnx package (and numpy) in target/pyenv, then every
## tests/models/*.py writes its models and inputs under target/test-models
test-models: $(TEST_MODELS)/.stamp
$(PYENV)/.stamp:
	rm -rf $(PYENV)
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check onnx==$(ONNX_VERSION) numpy==$(NUMPY_VERSION)
	touch $@
$(TEST_MODELS)/.stamp: $(PYENV)/.stamp $(wildcard tests/models/*.py)
	rm -rf $(TEST_MODELS) && mkdir -p $(TEST_MODELS)
	@for f in $(filter %.py,$^); do echo "$(PYENV)/bin/python $$f $(TEST_MODELS)"; \
	  $(PYENV)/bin/python $$f $(TEST_MODELS) || exit 1; done
	touch $@

fmt-check:
	$(CARGO) fmt --all --check

# The xrt feature builds against kiln's XRT emulation library here.
XRT_EMU := $(CURDIR)/target/xrt-emu
clippy: xrt-emu
	XILINX_XRT=$(XRT_EMU) $(CARGO) clippy --release --locked --workspace --all-targets --features kiln/xrt -- -D warnings
	$(CARGO) clippy --release --locked -p kiln --no-default-features -- -D warnings
	XILINX_XRT=$(XRT_EMU) $(CARGO) clippy --release --locked -p kiln --no-default-features --features xrt -- -D warnings

# Every module is linted as its own top, with the whole library of RTL
# available for the modules it instantiates (the packages first: the
# register package, then each engine's MODE package and its other packages).
LINT_PKGS := hw/ip/common/rtl/kiln_reg_pkg.sv $(wildcard hw/ip/*/rtl/*_args_pkg.sv) \
	$(filter-out %_args_pkg.sv hw/ip/common/rtl/kiln_reg_pkg.sv,$(wildcard hw/ip/*/rtl/*_pkg.sv))
LINT_LIB := $(LINT_PKGS) $(filter-out $(LINT_PKGS),$(wildcard hw/ip/*/rtl/*.sv)) \
	$(wildcard hw/lint/*.sv)
lint-rtl:
	@for f in $(RTL); do \
	  top=$$(basename $$f .sv); files="$(LINT_LIB)"; \
	  case " $$files " in *" $$f "*) ;; *) files="$$files $$f";; esac; \
	  echo "verilator --lint-only -Wall --top-module $$top"; \
	  verilator --lint-only -Wall -Ihw/ip/common/rtl hw/lint/waivers.vlt $$files --top-module $$top || exit 1; \
	done

## no-verilator-build: kiln builds without Verilator (it Verilates at run
## time): every build script of kiln's crates runs with a `verilator` on
## PATH that fails, and without $$VERILATOR, in a target dir of its own.
NO_VERILATOR := $(CURDIR)/target/no-verilator
no-verilator-build:
	rm -rf $(NO_VERILATOR)/bin && mkdir -p $(NO_VERILATOR)/bin
	printf '#!/bin/sh\necho "verilator ran during the build" >&2\nexit 1\n' > $(NO_VERILATOR)/bin/verilator
	chmod +x $(NO_VERILATOR)/bin/verilator
	env -u VERILATOR PATH=$(NO_VERILATOR)/bin:$$PATH CARGO_TARGET_DIR=$(NO_VERILATOR)/target \
	  $(CARGO) check --locked -p kiln
	@echo "no-verilator-build: kiln's build ran no Verilator"

# cross-test builds its native kiln with this same command line.
cargo-test: xrt-emu test-models
	KILN_TEST_MODELS=$(TEST_MODELS) KILN_ONNX_TESTDATA=$(CURDIR)/$(ONNX_TESTDATA)/onnx/backend/test/data/node XILINX_XRT=$(XRT_EMU) \
	  $(CARGO) test --release --locked --workspace --features kiln/xrt

## synth: rewrite docs/resources.md from yosys: every PE in its wrapper, then
## every listed design whole with its fit on the board (several minutes)
synth: build
	$(KILN) synth --all --designs --board pynq-z1 --report docs/resources.md

## docs: regenerate the docs that come from sources
docs: build
	$(KILN) pe docs --write docs/pe-library.md

## regs: regenerate the files that come from hw/regs/kiln.toml (SystemVerilog
## package, driver/src/regs.rs, docs/registers.md) and hw/regs/shell.toml (the
## shell's port list, the lint stand-in core); `make test` fails when stale
# kiln-regs is `kiln regs generate` without the runtime or the simulator:
# an engine's generated MODE package and constants must exist before the
# code that uses them builds.
regs: setup
	$(CARGO) run --release --locked -p kiln-spec --bin kiln-regs

## bench: simulator throughput, kiln run's memory and the dwconv engine on
## MobileNetV2, the edit loop (figures go to docs/benchmarks.md by hand), and
## bench-real (which rewrites its own section of docs/benchmarks.md)
bench: build bench-memory bench-dwconv bench-loop bench-real
	$(KILN) bench sim --cycles 2000000

BENCH_MODELS := $(CURDIR)/target/bench-models

## bench-models: the MobileNet-class and transformer-class benchmark models
## (tests/models/*.py --bench, seeded)
bench-models: $(BENCH_MODELS)/.stamp
$(BENCH_MODELS)/.stamp: $(PYENV)/.stamp tests/models/mobilenet.py tests/models/transformer.py
	$(PYENV)/bin/python tests/models/mobilenet.py $(BENCH_MODELS) --bench
	$(PYENV)/bin/python tests/models/transformer.py $(BENCH_MODELS) --bench
	touch $@

## bench-real: kiln bench model on both models (tract, kiln's reference,
## golden per design, scaling over --jobs), onnxruntime beside them when pip
## can install it, simulation speed, and a whole model on the RTL; rewrites
## the "Real models at speed" section of docs/benchmarks.md
BENCH_OUT := target/bench
bench-real: build bench-models
	@mkdir -p $(BENCH_OUT)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check onnxruntime \
	  || echo "bench-real: onnxruntime did not install; its column is left out"
	$(KILN) bench model $(BENCH_MODELS)/mobilenet-224/model.onnx --inputs $(BENCH_MODELS)/mobilenet-224/inputs-2.npy \
	  --rounds 6 --design gemm-mac-dsp-8x8 --design gemm-pot-8x8 --design bfp-mxint8 --json > $(BENCH_OUT)/mobilenet.json
	$(KILN) bench model $(BENCH_MODELS)/transformer-svtr/model.onnx --inputs $(BENCH_MODELS)/transformer-svtr/inputs-4.npy \
	  --rounds 6 --design gemm-mac-dsp-8x8 --design gemm-pot-8x8 --design bfp-mxint8 --json > $(BENCH_OUT)/transformer.json
	-$(PYENV)/bin/python tests/bench/ort.py $(BENCH_MODELS)/mobilenet-224/model.onnx $(BENCH_MODELS)/mobilenet-224/inputs-2.npy 3 > $(BENCH_OUT)/mobilenet-ort.json
	-$(PYENV)/bin/python tests/bench/ort.py $(BENCH_MODELS)/transformer-svtr/model.onnx $(BENCH_MODELS)/transformer-svtr/inputs-4.npy 3 > $(BENCH_OUT)/transformer-ort.json
	$(KILN) gemm --design gemm-pot-8x8 --m 256 --n 512 --k 1024 --json > $(BENCH_OUT)/sim-gemm.json
	$(KILN) matmul --design bfp-mxint8 --m 1 --k 2048 --n 2048 --json > $(BENCH_OUT)/sim-bfp.json
	@start=$$(date +%s.%N); \
	$(KILN) run $(BENCH_MODELS)/mobilenet-128/model.onnx --inputs $(BENCH_MODELS)/mobilenet-128/inputs-1.npy \
	  --design gemm-pot-8x8 --backend sim --board pynq-z1 --json > $(BENCH_OUT)/whole-sim-report.json || exit 1; \
	end=$$(date +%s.%N); \
	python3 -c "import json,sys; print(json.dumps({'seconds': $$end - $$start, 'report': json.load(open(sys.argv[1]))}))" \
	  $(BENCH_OUT)/whole-sim-report.json > $(BENCH_OUT)/whole-sim.json
	python3 tests/bench/real_models.py $(BENCH_OUT) docs/benchmarks.md

## bench-memory: peak RSS of `kiln run` on MobileNetV2-224 (written by
## tests/models/mobilenet.py) with 2 and with 64 samples in the data set
bench-memory: build bench-models
	@for n in 2 64; do \
	  /usr/bin/time -f "kiln run, $$n samples: peak RSS %M KB, %e s" $(KILN) run $(BENCH_MODELS)/mobilenet-224/model.onnx \
	    --inputs $(BENCH_MODELS)/mobilenet-224/inputs-$$n.npy --design gemm-pot-8x8 --board pynq-z1 --json >/dev/null || exit 1; \
	done

## bench-dwconv: MobileNetV2-224 with its depthwise layers on the GEMM
## designs alone and beside the dwconv designs: exact cycles and PE
## utilisation per layer (docs/benchmarks.md)
bench-dwconv: build bench-models
	$(KILN) run $(BENCH_MODELS)/mobilenet-224/model.onnx --inputs $(BENCH_MODELS)/mobilenet-224/inputs-2.npy \
	  --design gemm-pot-8x8 --design gemm-pot-8x8+dwconv-pot-16 \
	  --design gemm-mac-dsp-8x8 --design gemm-mac-dsp-8x8+dwconv-mac-dsp-16 \
	  --limit 1 --verify-sample 8 --board pynq-z1

## bench-loop: edit-to-verdict latency of a project's loop (kiln new, a
## one-line RTL change, kiln pe verify and kiln gemm), docs/benchmarks.md
bench-loop: build
	tests/bench/edit_loop.sh $(KILN) 3

## xrt-emu: kiln's XRT emulation library (driver/xrt-emu) with its headers, in
## the layout of an XRT install: build the xrt feature with XILINX_XRT=$(XRT_EMU)
.PHONY: xrt-emu
xrt-emu: setup
	$(CARGO) build --release --locked -p kiln-xrt-emu
	rm -rf $(XRT_EMU) && mkdir -p $(XRT_EMU)/lib
	cp -r driver/xrt-emu/include $(XRT_EMU)/include
	cp target/release/libxrt_coreutil.so $(XRT_EMU)/lib/

## cross: kiln for both board targets, statically linked, without the
## simulator (target/<triple>/board/kiln)
cross: setup-cross
	for t in $(CROSS_TARGETS); do \
	  $(CARGO) build --locked -p kiln --no-default-features --profile board --target $$t || exit 1; \
	done

## deploy: dist/kiln-$(BOARD).tar.gz: the static kiln for the board, its
## board file, the board's bitstream manifests (and bitstreams, where
## present) from bitstreams/, and the Vivado project for $(DESIGN); the
## board binary itself, under qemu-user, checks the manifests and writes
## the project
BOARD ?= pynq-z1
DESIGN ?= gemm-pot-8x8
PROFILE ?= board
deploy: setup-cross
	@[ -f boards/$(BOARD).toml ] || { echo "deploy: no board file boards/$(BOARD).toml; boards: $$(cd boards && ls *.toml | sed 's/.toml//' | tr '\n' ' ')" >&2; exit 1; }
	$(eval TRIPLE := $(shell sed -n 's/^rust_target = "\(.*\)"/\1/p' boards/$(BOARD).toml))
	$(eval RUNNER := $(if $(findstring aarch64,$(TRIPLE)),qemu-aarch64,qemu-arm))
	$(CARGO) build --locked -p kiln --no-default-features --profile $(PROFILE) --target $(TRIPLE)
	bash tests/cross/stage.sh $(BOARD) $(DESIGN) target/$(TRIPLE)/$(PROFILE)/kiln $(RUNNER)

## cross-test: deploy both board kinds and run their kiln under qemu-user:
## --version, and golden GEMMs and BFP MatMuls whose JSON must equal the
## native run's. The native kiln is the one `make cargo-test` builds (same
## command, so nothing is rebuilt), linked to the XRT emulation. The board
## binaries use profile board-check (opt-level 1) to halve the build.
cross-test: setup-cross xrt-emu
	XILINX_XRT=$(XRT_EMU) $(CARGO) test --release --locked --workspace --features kiln/xrt --no-run
	$(MAKE) --no-print-directory deploy BOARD=pynq-z1 PROFILE=board-check
	$(MAKE) --no-print-directory deploy BOARD=kv260 PROFILE=board-check
	LD_LIBRARY_PATH=$(XRT_EMU)/lib bash tests/cross/check.sh dist/kiln-pynq-z1.tar.gz:qemu-arm dist/kiln-kv260.tar.gz:qemu-aarch64
