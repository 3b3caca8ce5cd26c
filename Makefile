# The two commands: `make run` and `make test`. Both install what they need first.
CARGO ?= cargo
BIN := target/release/redis-ssot

.PHONY: deps build run test lint fmt bench garden

deps:
	@./scripts/install-deps.sh

build:
	$(CARGO) build --release --bin redis-ssot

run: deps build
	$(BIN) status

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

test: deps lint
	$(CARGO) test --workspace

bench: deps build
	$(BIN) bench --clients 50
	$(BIN) bench --clients 256
