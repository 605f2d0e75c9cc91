# Libro-Mind: the two commands are `make run` and `make test`. See README.md.
SHELL := /bin/bash
JOBS ?= 2
FUZZ_SECONDS ?= 30
export LIBROMIND_SOURCE_DIR := $(CURDIR)

.PHONY: run test e2e build build-asan unit-test integration-test fuzz bench bench-shop format format-check clean setup-run setup-test

run: setup-run build
	scripts/fetch-models.sh
	scripts/run.sh

test: setup-test
	scripts/test.sh

# The storefront's end-to-end suite alone (part of `make test`): Chromium against the release
# service on a throwaway SQLite store with the shipped catalogue, and the model server.
e2e: setup-test build
	scripts/fetch-models.sh
	scripts/e2e.sh

setup-run:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

build:
	@cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

build-asan:
	@cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)

fuzz:
	scripts/run-fuzzers.sh $(FUZZ_SECONDS)

bench:
	@scripts/setup.sh bench
	bench/run.sh

# The shop benchmark (checkout, login, oversell; PostgreSQL and SQLite): its own section of
# docs/benchmarks.md, like bench/ml/run.sh. Needs Go >= 1.22 for the load generator.
bench-shop:
	@scripts/setup.sh bench
	BENCH_SHOP_SETUP=0 bench/shop/run.sh

format:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

format-check:
	git ls-files '*.cpp' '*.hpp' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build
