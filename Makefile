# The README's two commands: `make run` and `make test`. Both install the
# Debian packages they need on a fresh machine first.
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
# Tests with threads, run again under ThreadSanitizer (ctest -R pattern).
TSAN_TESTS ?= test_threads
FUZZ_BUILD ?= build-fuzz
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 60

PKGS := cmake make gcc clang libclang-rt-14-dev clang-format pkg-config libcmocka-dev libpcap-dev tshark \
	iproute2 iputils-ping socat netcat-openbsd ethtool python3 \
	python3-scapy python3-pytest procps kmod \
	libhttp-parser-dev curl wrk

.PHONY: all deps build run test test-unit test-asan test-tsan test-interop \
	test-fuzz clean format

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

format:
	clang-format -i include/*.h src/*/*.[ch] apps/*.c apps/*/*.[ch] tests/*/*.c

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
