# The README's two commands:
#   make demo   build everything (first time: ~20 min on 2 cores) and run
#               sandboxed Python scripts, one awaiting host tools
#   make test   build everything and run all tests
#   make fidelity  CPython's own test suite, natively and in the sandbox,
#               compared (tools/fidelity.py; `make test` runs a quick part)
#   make data-tests  numpy's and pandas' own tests in the data guest
#               (tools/data_tests.py, tests/data/expected.toml)
#   make compare   cloche beside eryx and Monty, measured in one run
#               (bench/compare.py, docs/compare.md; COMPARE_FLAGS=--quick)
#   make bench-data  numpy/pandas kernels in the data guest vs native with
#               the same versions (bench/data_kernels.py; BENCH_DATA_FLAGS)
#   make fuzz   each fuzz target for FUZZ_SECONDS (fuzz/README.md)
#   make soak   1000 sessions x 100 steps in 8 threads: RSS and fds flat
BUILD ?= build

.PHONY: all build demo test fidelity data-tests bench bench-data compare asan fuzz soak clean

all: build

build:
	bash tools/build.sh $(BUILD)

demo: build
	./$(BUILD)/cloche run examples/hello.py
	./$(BUILD)/cloche run --demo-tools examples/tools.py

test: build
	bash tools/test.sh $(BUILD)

fidelity: build
	CPY=$$(bash tools/cpython.sh | tail -n 1) && CLOCHE_CPYTHON=$$CPY \
	  $$CPY/native/bin/python3.13 tools/fidelity.py --build $(BUILD)

# numpy's and pandas' own tests in the data guest (tools/data_tests.py;
# the default build has the data stack)
data-tests: build
	python3 tools/data_tests.py --build $(BUILD)

bench: build
	./$(BUILD)/bench/cloche-bench

# numpy/pandas kernels, data guest vs native with the same versions (the
# native venv is built if missing)
bench-data: build
	python3 bench/data_kernels.py --build $(BUILD) $(BENCH_DATA_FLAGS)

compare: build
	bash tools/wheel.sh $(BUILD)
	python3 bench/compare.py --build $(BUILD) $(COMPARE_FLAGS)

asan:
	bash tools/build.sh build-asan -DCLOCHE_SANITIZE=ON
	bash tools/test.sh build-asan

FUZZ_SECONDS ?= 60
fuzz: build
	BUILD=$(BUILD) bash fuzz/run.sh $(FUZZ_SECONDS)

soak: build
	./$(BUILD)/cloche_soak --sessions 1000 --runs 100 --threads 8

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-tsan build-min
