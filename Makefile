# The two commands: `make run` (the chat gateway) and `make test`. Both install what they need.
CARGO ?= cargo
BIN := target/release/redis-ssot

.PHONY: deps deps-browser build run status test lint fmt bench bench-stores bench-gateway bench-cluster garden
.PHONY: garden-venv wheel test-garden-python python test-python bench-python

deps:
	@./scripts/install-deps.sh

deps-browser:
	@WITH_BROWSER=1 ./scripts/install-deps.sh

build:
	$(CARGO) build --release --bin redis-ssot

## The chat gateway on http://127.0.0.1:8080 with its own embedded redis-server.
run: deps build
	$(BIN) serve

status: deps build
	$(BIN) status

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## fmt, clippy, every test (real redis-server, headless Chromium), and the SSOT self-scan.
test: deps-browser lint
	$(CARGO) test --workspace
	$(CARGO) run -q --bin redis-ssot -- garden scan . --no-progress
	$(MAKE) test-garden-python
	$(MAKE) test-python

bench: deps build
	$(BIN) bench --clients 50
	$(BIN) bench --clients 256

bench-stores: deps build
	$(BIN) bench --workload sessions
	$(BIN) bench --workload cache
	$(BIN) bench --workload ratelimit

## The kv bench on a 3-master loopback cluster, a standalone server beside it in the same run.
bench-cluster: deps build
	./scripts/bench-cluster.sh --clients 256

## 10,000 sockets at ~500 runs/s (the targets), then the capacity sweep.
bench-gateway: deps build
	$(BIN) bench gateway --sockets 10000 --rate 500 --messages 6
	$(BIN) bench gateway --users 1000 --sweep 500,1000,2000,3000,4000,6000 --messages 10

garden: build
	$(BIN) garden scan .

## The gardener for Python teams: a virtualenv with maturin, pre-commit and ruff (kept between
## runs), the wheel with the redis-ssot-garden binary inside, and its end-to-end checks.
GARDEN_VENV := .venv-garden

$(GARDEN_VENV)/.installed:
	python3 -m venv $(GARDEN_VENV)
	$(GARDEN_VENV)/bin/pip install -q "maturin==1.16.0" "pre-commit==4.7.0" "ruff==0.17.5"
	touch $@

garden-venv: $(GARDEN_VENV)/.installed

wheel: garden-venv
	$(GARDEN_VENV)/bin/maturin build --release --out target/wheels

test-garden-python: wheel
	GARDEN_VENV=$(GARDEN_VENV) ./scripts/test-garden-python.sh

## The redis_ssot Python package (python/): a virtualenv made here with maturin, pytest and the
## bench's peers, pinned; `make python` builds the release wheel and installs it there.
PYTHON ?= python3
VENV ?= $(CURDIR)/python/.venv
VPY := $(VENV)/bin/python
PY_DEPS := maturin==1.16.0 pytest==9.2.0 pytest-asyncio==1.5.0 redis==8.1.0 valkey-glide==2.5.3 uvloop==0.23.0
WHEELS := $(CURDIR)/target/wheels

$(VENV)/.deps:
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --disable-pip-version-check $(PY_DEPS)
	touch $@

python: $(VENV)/.deps
	rm -f $(WHEELS)/redis_ssot-*.whl
	cd python && $(VENV)/bin/maturin build --release --quiet -o $(WHEELS)
	$(VPY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEELS)/redis_ssot-*.whl

## The pytest suite against real redis-server processes, on a debug wheel (built from the same
## target dir as `cargo test`, so it costs about a minute), really installed in the venv.
test-python: deps $(VENV)/.deps
	rm -f $(WHEELS)/redis_ssot-*.whl python/redis_ssot/_native*.so
	cd python && $(VENV)/bin/maturin build --quiet -o $(WHEELS)
	$(VPY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps $(WHEELS)/redis_ssot-*.whl
	$(CARGO) build -q -p redis-ssot-python --example session_interop
	REDIS_SSOT_INTEROP_BIN=$(CURDIR)/target/debug/examples/session_interop \
		$(VENV)/bin/pytest -q -c python/pyproject.toml python/tests

## redis_ssot against redis-py and valkey-glide, one run, same server (docs/BENCHMARKS.md).
bench-python: deps python
	$(VPY) -m redis_ssot.bench
