# ISL — one command runs the service (make run), one passes all tests (make test).
SHELL := /bin/bash
GO    ?= go
MODULES := engine service stacks infra monitoring benchmarks
PKGS  := $(foreach m,$(MODULES),./$(m)/...)
BIN   := bin
IMAGE ?= isl:dev
PORT  ?= 8000

.PHONY: run build test test-short bench lint fmt vet docker-build docker-check diff fuzz \
        pilot-local pilot-local-down bench-load bench-http integration clean

## run: the service on :$(PORT) with the embedded in-memory store (no Redis needed)
run:
	cd service && GOWORK=off PORT=$(PORT) $(GO) run ./cmd/isl

## build: the service binary (static) into bin/
build:
	mkdir -p $(BIN)
	cd service && GOWORK=off CGO_ENABLED=0 $(GO) build -trimpath -o ../$(BIN)/isl ./cmd/isl

## test: every module's tests, including real redis-server/nginx/promtool checks and the
## Dockerfile build-stage replay (set CI=true to turn missing binaries into failures)
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)

## test-short: the quick subset (skips the Dockerfile replay and the pilot end-to-end run)
test-short:
	$(GO) test -count=1 -short $(PKGS)

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

vet:
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $(MODULES)

## docker-build: the service image (needs a Docker engine; context is the repo root)
docker-build:
	docker build -f service/Dockerfile -t $(IMAGE) .

## docker-check: replay the image's build stage without Docker (what CI can check)
docker-check:
	cd service && $(GO) test -count=1 -run TestDockerfileBuildStage ./cmd/isl

## diff: effective configuration and declared resources of two stacks, e.g. make diff FROM=staging TO=pilot
FROM ?= staging
TO   ?= pilot
diff:
	$(GO) run ./infra/cmd/stackdiff --from $(FROM) --to $(TO)

## pilot-local: the pilot stack on loopback (redis AOF, 3 replicas, nginx TLS, Prometheus); state in .pilot-local/
PILOT_DIR ?= .pilot-local
pilot-local:
	$(GO) run ./stacks/cmd/pilot-local up --dir $(PILOT_DIR)

## pilot-local-down: stop everything pilot-local started (by PID); PURGE=1 also deletes .pilot-local/
pilot-local-down:
	$(GO) run ./stacks/cmd/pilot-local down --dir $(PILOT_DIR) $(if $(PURGE),--purge)

## bench-load: SLO load test, e.g. make bench-load HOST=https://isl.example.com KEY=… [CONCURRENCY=100 DURATION=60s]
HOST        ?= $(ISL_HOST)
KEY         ?= $(ISL_API_KEY)
CONCURRENCY ?= 10
DURATION    ?= 30s
bench-load:
	$(GO) run ./benchmarks/cmd/isl-load --host $(HOST) --api-key "$(KEY)" --concurrency $(CONCURRENCY) \
	  --duration $(DURATION) $(if $(filter true,$(ISL_INSECURE)),--insecure) $(if $(JSON),--json $(JSON)) $(ARGS)

## integration: the black-box contract suite against a deployed ISL, e.g. make integration HOST=https://… KEY=…
integration:
	ISL_HOST=$(HOST) ISL_API_KEY="$(KEY)" $(GO) test -count=1 -v ./benchmarks/integration/

clean:
	rm -rf $(BIN)
