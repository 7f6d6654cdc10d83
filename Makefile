# ISL — one command runs the service (make run), one passes all tests (make test).
SHELL := /bin/bash
GO    ?= go
MODULES := engine service stacks infra monitoring benchmarks
PKGS  := $(foreach m,$(MODULES),./$(m)/...)
BIN   := bin
IMAGE ?= isl:dev
PORT  ?= 8000

# Build identity, linked into the binary and labelled on the image: the release tag vX.Y.Z without
# its v (`git describe` between tags), the commit, the build time. Override any of them on the
# command line (make build VERSION=1.2.0).
VERSION    := $(shell git describe --tags --match 'v[0-9]*' --dirty 2>/dev/null | sed 's/^v//')
VERSION    := $(or $(VERSION),0.0.0-dev)
COMMIT     := $(or $(shell git rev-parse HEAD 2>/dev/null),unknown)
BUILD_DATE := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS    := -X github.com/olumi/isl/service/isl.Version=$(VERSION) \
              -X github.com/olumi/isl/service/isl.Commit=$(COMMIT) \
              -X github.com/olumi/isl/service/isl.BuildDate=$(BUILD_DATE)

.PHONY: help run build test test-short bench lint fmt vet docker-build images-offline diff promote fuzz \
        pilot-local pilot-local-down bench-load bench-http integration clean dashboards

# Test output goes through testreport: go test's usual lines, then what was skipped and why.
# pipefail keeps go test's exit status.
TESTREPORT := $(GO) run ./benchmarks/cmd/testreport

## run: the service on :$(PORT) with the embedded in-memory store (no Redis needed)
run:
	cd service && GOWORK=off PORT=$(PORT) $(GO) run ./cmd/isl

## build: the service binary (static, stripped) into bin/isl, with VERSION, COMMIT and BUILD_DATE linked in; then e.g. bin/isl diagnose
build:
	mkdir -p $(BIN)
	cd service && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(abspath $(BIN))/isl ./cmd/isl

## test: go vet and every module's tests, including real redis-server/nginx/promtool checks, the
## dev, staging and pilot stacks run on the Docker engine and the pilot end-to-end run;
## ends with what was skipped and why (set CI=true to turn a missing binary or engine into a failure)
test:
	$(GO) vet $(PKGS)
	set -o pipefail; $(GO) test -json -count=1 -timeout 20m $(PKGS) | $(TESTREPORT)

## test-short: the quick subset for the edit loop (no stacks on the engine, no pilot end-to-end run)
test-short:
	set -o pipefail; $(GO) test -json -count=1 -short $(PKGS) | $(TESTREPORT)

## bench: engine benchmarks (results are recorded in engine/BENCHMARKS.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1s ./engine/...

## bench-http: whole-handler benchmarks of every endpoint (httptest through NewServer: CPU time and
## allocations per request, cache off and cache hits); results are recorded in benchmarks/RESULTS.md
bench-http:
	$(GO) test -run '^$$' -bench 'BenchmarkHTTP' -benchmem -benchtime 2s ./service/http/

## fuzz: a short pass of every fuzz target (go test -fuzz takes one target at a time)
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

## lint: gofmt (must be clean) and go vet
lint: vet
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## vet: go vet over every module
vet:
	$(GO) vet $(PKGS)

## fmt: gofmt -w every module
fmt:
	gofmt -w $(MODULES)

## docker-build: the service image (needs a Docker engine; context is the repo root). Without a
## registry: make images-offline, then BUILD_IMAGE=isl-offline/golang:1.26-bookworm
## RUNTIME_IMAGE=isl-offline/static-debian12:nonroot
BUILD_IMAGE   ?=
RUNTIME_IMAGE ?=
docker-build:
	docker build -f service/Dockerfile --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) \
	  --build-arg BUILD_DATE=$(BUILD_DATE) $(if $(BUILD_IMAGE),--build-arg BUILD_IMAGE=$(BUILD_IMAGE)) \
	  $(if $(RUNTIME_IMAGE),--build-arg RUNTIME_IMAGE=$(RUNTIME_IMAGE)) -t $(IMAGE) .

## images-offline: every image the stacks name, built on the local engine with no registry
## (debootstrap + Debian packages; cached by tag: seconds when nothing changed)
images-offline:
	$(GO) run ./infra/cmd/images-offline

## diff: what differs between two stacks (settings, rendered files, resources), e.g.
## make diff FROM=staging TO=pilot ARGS="--all --strict --json". make fails only when a stack is invalid;
## bin/stackdiff itself exits 0 same, 1 different, 2 invalid (go run and make cannot pass 1 and 2 apart)
FROM ?= staging
TO   ?= pilot
diff:
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/stackdiff ./infra/cmd/stackdiff
	@$(BIN)/stackdiff --from $(FROM) --to $(TO) $(ARGS); rc=$$?; [ $$rc -le 1 ] || exit $$rc

## promote: pin the image FROM runs (its registry digest) as TO's isl:image and show TO's diff, e.g.
## make promote FROM=staging TO=pilot [ARGS="--dry-run" | ARGS="--state DIR"]; refuses unpinned or unhealthy
promote:
	@mkdir -p $(BIN) && $(GO) build -o $(BIN)/promote ./infra/cmd/promote
	@$(BIN)/promote --from $(FROM) --to $(TO) $(ARGS)

## dashboards: regenerate the Grafana dashboards (Go, grafana-foundation-sdk) into monitoring/grafana/dashboards
dashboards:
	$(GO) run ./monitoring/cmd/dashboards --out monitoring/grafana/dashboards

## pilot-local: the pilot stack on loopback (redis AOF, 3 replicas, nginx TLS, Prometheus); state in .pilot-local/
PILOT_DIR ?= .pilot-local
pilot-local:
	$(GO) run ./stacks/cmd/pilot-local up --dir $(PILOT_DIR)

## pilot-local-down: stop everything pilot-local started (by PID); PURGE=1 also deletes .pilot-local/
pilot-local-down:
	$(GO) run ./stacks/cmd/pilot-local down --dir $(PILOT_DIR) $(if $(PURGE),--purge)

## bench-load: SLO load test, e.g. make bench-load HOST=https://isl.example.com KEY=… [CONCURRENCY=100
## DURATION=60s RATE=50 (open loop) PAYLOADS=varied CACERT=ca.pem JSON=run.json]
HOST        ?= $(ISL_HOST)
KEY         ?= $(ISL_API_KEY)
CONCURRENCY ?= 10
DURATION    ?= 30s
bench-load:
	$(GO) run ./benchmarks/cmd/isl-load $(if $(HOST),--host "$(HOST)") $(if $(KEY),--api-key "$(KEY)") \
	  --concurrency "$(CONCURRENCY)" --duration "$(DURATION)" $(if $(RATE),--rate "$(RATE)") \
	  $(if $(PAYLOADS),--payloads "$(PAYLOADS)") $(if $(CACERT),--cacert "$(CACERT)") \
	  $(if $(filter true,$(ISL_INSECURE)),--insecure) $(if $(JSON),--json "$(JSON)") $(ARGS)

## integration: the black-box contract suite against a deployed ISL, e.g. make integration HOST=https://… KEY=…
integration:
	ISL_HOST="$(HOST)" ISL_API_KEY="$(KEY)" $(GO) test -count=1 -v ./benchmarks/integration/

## clean: delete bin/
clean:
	rm -rf $(BIN)

## help: this list (every target's ## line)
help:
	@awk '/^## [a-z-]+:/ { sub(/^## /, ""); n = index($$0, ":"); printf "  %-17s%s\n", substr($$0, 1, n - 1), substr($$0, n + 1); next } \
	      /^## / { sub(/^## /, ""); printf "  %-17s %s\n", "", $$0 }' $(MAKEFILE_LIST)
