# The README's two commands: `make run` and `make test`. Both install the
# Debian packages they need on a fresh machine first.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# Tests with threads, run again under ThreadSanitizer (ctest -R pattern):
# the blocking layer, and the event API's threaded and kernel-fd waits.
TSAN_TESTS ?= test_threads|test_epoll
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

PKGS := cmake make gcc clang libclang-rt-14-dev clang-format pkg-config libcmocka-dev libpcap-dev tshark \
	iproute2 iputils-ping socat netcat-openbsd ethtool python3 \
	python3-scapy python3-pytest procps kmod \
	libhttp-parser-dev curl wrk nginx-light
# The bench suite (make bench, and its smoke run in make test's interop
# suite, t_40_bench_smoke): callgrind, wrk, nginx-light, taskset.
PKGS += valgrind util-linux

# make bench: a release build of its own (-O2, no sanitizers), then the
# suite (bench/run.sh; BENCH_SECS, BENCH_REPEAT: see bench/README.md).
BENCH_BUILD ?= build-bench

.PHONY: all deps build run test test-unit test-asan test-tsan test-interop \
	test-fuzz clean format bench

all: build

deps:
	@./scripts/install-deps.sh $(PKGS)

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	$(BUILD)/bin/ustack-demo $(ARGS)

# Every suite: unit + sim, the same under ASan/UBSan, interop against the
# Linux kernel in namespaces, and the fuzzer for a bounded time.
test: build test-unit test-asan test-tsan test-interop test-fuzz
	@echo "make test: all suites passed"

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|sim'

test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DUSTACK_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -L 'unit|sim'

test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DUSTACK_TSAN=ON >/dev/null
	@cmake --build $(TSAN_BUILD) -j $(JOBS)
	cd $(TSAN_BUILD) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		ctest --output-on-failure -j $(JOBS) -R '$(TSAN_TESTS)'

test-interop: build
	./tests/interop/run.sh $(BUILD)

test-fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DUSTACK_SANITIZE=ON -DUSTACK_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS)
	./tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: deps
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DUSTACK_SANITIZE=OFF -DUSTACK_TSAN=OFF -DUSTACK_FUZZ=OFF >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS)
	./bench/run.sh $(BENCH_BUILD)

format:
	clang-format -i include/*.h src/*/*.[ch] apps/*.c apps/*/*.[ch] tests/*/*.c bench/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)
