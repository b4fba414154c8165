# gonova: `make run` starts the all-in-one service on the embedded default;
# `make test` makes sure Postgres, RabbitMQ and the Python peer answer, then runs
# every test against them.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
GO ?= go
BIN := bin
STATICCHECK_VERSION := v0.8.2
# Test run settings: -p bounds parallel test packages (each owns its database
# and broker names, so they can overlap); the race detector is on.
TEST_FLAGS ?= -race -count=1 -timeout 12m -p 2
BENCH_FLAGS ?= -run '^$$' -bench . -benchmem -count=1 -timeout 30m

.PHONY: all build run test test-unit test-example test-serial services bench lint fuzz sample-config sample-policy clean

all: build

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./cmd/...

# The embedded default: etc/nova-all.conf (memory:// transport, in-memory
# store, noauth2). RUN_ARGS replaces it, e.g. RUN_ARGS='--config-file my.conf'.
RUN_ARGS ?= --config-file etc/nova-all.conf
run: build
	./$(BIN)/nova-all $(RUN_ARGS)

services:
	@bash scripts/services.sh

# The parallel pass, then the fault tests that stop a shared server, alone.
test: services lint
	$(GO) test $(TEST_FLAGS) ./...
	$(MAKE) --no-print-directory test-example
	$(MAKE) --no-print-directory test-serial

# examples/greeter is a module of its own, as an outside user's would be: it
# must build, vet and pass its tests importing only pkg/.
EXAMPLE := examples/greeter
test-example:
	cd $(EXAMPLE) && $(GO) vet ./... && $(GO) test $(TEST_FLAGS) ./...

test-unit:
	$(GO) test -short -count=1 ./...

# Only the packages that have TestSerial tests, one at a time, verbosely.
test-serial:
	@pkgs=$$(grep -rl --include='*_test.go' '^func TestSerial' . | xargs -n1 dirname | sort -u | sed 's#^\.#github.com/gonova/gonova#'); \
	echo "serial fault tests in: $$pkgs"; \
	GONOVA_SERIAL_FAULTS=1 $(GO) test -count=1 -p 1 -timeout 10m -v -run '^TestSerial' $$pkgs

# The interop benchmarks start Python processes per run and need a fixed
# count; everything else uses Go's adaptive benchtime.
# BenchmarkScale starts 1,000 services per run, so it gets a fixed count too.
bench: services
	$(GO) test $(BENCH_FLAGS) -skip '^BenchmarkScale$$' $$($(GO) list ./... | grep -v /pkg/rpcsvc/interop) | tee bench.out
	$(GO) test $(BENCH_FLAGS) -benchtime 5000x ./pkg/rpcsvc/interop | tee -a bench.out
	$(GO) test $(BENCH_FLAGS) -bench '^BenchmarkScale$$' -benchtime 5x ./pkg/service | tee -a bench.out

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

# Runs every fuzz target for FUZZTIME each; failures land in testdata/fuzz and
# must be committed with the fix.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg || exit 1; \
	  done; \
	done

sample-config:
	$(GO) test ./pkg/config -run TestSampleFileInDeployIsCurrent -update

# deploy/policy.yaml.sample from internal/policies' registry.
sample-policy:
	$(GO) test ./internal/policies -run TestSampleFileInDeployIsCurrent -update

clean:
	rm -rf $(BIN) bench.out
