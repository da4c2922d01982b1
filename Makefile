# lp0 — a thin front end over CMake (as Neovim does). CMake is the source of truth.
#
#   make            release build (build/lp0)
#   make run        install missing packages, build, start the daemon on its defaults
#   make test       install missing packages, build, run every test suite
#   make asan       ASan + UBSan build (build-asan/) running every test suite
#   make valgrind   unit tests and the Lua/detection suites under valgrind (leaks = failure)
#   make deps       install the Debian packages lp0 needs (prints the apt-get line if not root)
#   make deps-test  the same plus what the tests need (node and npm for the plug simulator)
#   make bench      the replay benchmark (tests/bench/run.sh)
#   make bench-http the daemon under wrk (tests/bench/http.sh; needs the wrk package)
#   make bench-stories  1,000 alerts through a story with 5 HTTP calls each (tests/bench/stories.sh)
#   make clean

BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?=

.PHONY: all lp0 run test asan valgrind deps deps-test bench bench-http bench-stories clean replay-demo

all: lp0

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

lp0: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

deps:
	@sh .ci/deps.sh

deps-test:
	@sh .ci/deps.sh --test

test: deps-test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

asan: deps-test
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DLP0_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

VALGRIND = valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect
valgrind: lp0
	@command -v valgrind >/dev/null || { echo "valgrind: install the Debian package 'valgrind'"; exit 2; }
	for t in $(BUILD)/tests/test_*; do $(VALGRIND) $$t >/dev/null || exit 1; done
	$(VALGRIND) $(BUILD)/lp0 test tests/lua tests/stories scripts detections > $(BUILD)/valgrind-test.log || { cat $(BUILD)/valgrind-test.log; exit 1; }
	tail -1 $(BUILD)/valgrind-test.log
	$(VALGRIND) $(BUILD)/lp0 replay -q -w 2 -d detections tests/data/sample-cloudtrail.ndjson >/dev/null

# The README's first command: the daemon on its embedded defaults (127.0.0.1:8787,
# ./detections, state in ./var).
run: deps lp0
	./$(BUILD)/lp0 run

# Replay the bundled sample log through the bundled detections.
replay-demo: deps lp0
	./$(BUILD)/lp0 replay -d detections tests/data/sample-cloudtrail.ndjson

bench: lp0
	sh tests/bench/run.sh

bench-http: lp0
	sh tests/bench/http.sh

bench-stories: lp0
	sh tests/bench/stories.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
