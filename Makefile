# molbatch: `make run` to start the server on one machine, `make test` to run
# every test, `make bench` for the throughput benchmarks. Each installs what is
# missing first.

CARGO ?= cargo
NPM ?= npm
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
DATA ?= $(abspath ../shared/data)
export MOLBATCH_SHARED_DATA ?= $(DATA)

.PHONY: deps browser-deps services web build run test lint deploy-check unit web-test bench fixtures

deps:
	@scripts/install-deps.sh

## Debian's Chromium for the browser tests (and the app's benchmark).
browser-deps: deps
	@scripts/install-deps.sh --browser

services: deps
	@scripts/ensure-services.sh

## The web app (web/): npm packages from the committed lockfile, then its
## static build in web/dist, which the gateway serves at / (and embeds in
## release builds).
web: deps
	@scripts/build-web.sh

build: deps web
	$(CARGO) build --release --bin molbatch
	$(CARGO) build --release -p molbatch-gateway -p molbatch-scheduler -p molbatch-analytics -p molbatch-storage --bins

## Start molbatch serve on the embedded default (./molbatch-data, http://127.0.0.1:8080).
run: build
	$(CARGO) run --release --bin molbatch -- serve

## Every test, the formatting check and clippy, the web app's lint, type
## check, unit tests and its browser tests in Debian's Chromium.
test: services lint deploy-check unit web-test

lint: deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Render and validate the Helm chart, kustomize overlays, Dockerfile and Terraform offline.
deploy-check: ; scripts/install-deploy-tools.sh && scripts/check-deploy.sh

unit: deps
	$(CARGO) nextest run --workspace --no-fail-fast
	$(CARGO) test --workspace --doc

## The web app against a real `molbatch serve` (debug build) in headless Chromium.
web-test: browser-deps web
	$(CARGO) build --bin molbatch
	cd web && $(NPM) run lint && $(NPM) run typecheck && $(NPM) test
	cd web && MOLBATCH_BIN=$(TARGET_DIR)/debug/molbatch $(NPM) run test:browser

## Throughput: chemistry core, end to end and Python RDKit in the same run; queue on Postgres.
bench: services browser-deps web
	$(CARGO) build --release --bin molbatch
	$(CARGO) build --release -p molbatch-gateway -p molbatch-scheduler -p molbatch-analytics -p molbatch-storage --bins
	$(CARGO) build --release -p molbatch-chem --example pipeline_bench
	$(CARGO) build --release -p molbatch-scheduler --example queue_bench
	$(CARGO) build --release -p molbatch-analysis --example search_bench
	$(CARGO) build --release -p molbatch-client --example get_job_load --example forged_key_load
	$(CARGO) build --release -p molbatch --example analyze_bench --example estimate_bench
	$(CARGO) build --release -p molbatch-analytics --example substructure_bench
	scripts/bench.sh

## Regenerate the chemistry reference fixtures with Debian's python3-rdkit.
fixtures: deps
	/usr/bin/python3 scripts/reference_fixtures.py
	/usr/bin/python3 scripts/scaffold_fixtures.py
