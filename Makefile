# Countersign: `make run` and `make test` are the two set-up commands (see README.md).
# Each installs what it needs on Debian/Ubuntu when missing, and is fast when all is there.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
CARGO ?= cargo
UI_SOURCES := $(shell find ui/src ui/index.html ui/package.json ui/package-lock.json ui/vite.config.ts ui/tsconfig*.json -type f 2>/dev/null)

.PHONY: help run test bench soak fuzz package lint test-rust test-ui test-e2e bindings-check system-deps system-deps-test system-deps-bench ui-deps ui e2e-deps clean

help:
	@echo "make run    start the desktop app (needs a display)"
	@echo "make test   formatting, lints, every test, and the real app end to end"
	@echo "make bench  benchmarks (BENCHMARKS.md records the results)"
	@echo "make soak   the proving-ground suites, pushed further (RELIABILITY.md)"
	@echo "make fuzz   the cargo-fuzz targets, FUZZ_SECONDS (60) each; needs nightly (fuzz/README.md)"
	@echo "make package  the Debian package (release build) in target/release/bundle/deb"

system-deps:
	@scripts/ensure-system-deps.sh build

system-deps-test:
	@scripts/ensure-system-deps.sh test

system-deps-bench:
	@scripts/ensure-system-deps.sh bench

ui-deps:
	@scripts/ensure-ui-deps.sh

ui/dist/index.html: $(UI_SOURCES) | ui-deps
	cd ui && npm run build --silent

ui: ui/dist/index.html

run: system-deps ui
	@if [[ -z "$${DISPLAY:-}$${WAYLAND_DISPLAY:-}" ]]; then \
	  echo "make run needs a display (DISPLAY or WAYLAND_DISPLAY); on a headless machine try: xvfb-run make run" >&2; exit 1; fi
	$(CARGO) run --package countersign -- --demo

# A release build of the app bundled as a .deb with countersign-cli beside it (tauri.conf.json
# bundle.linux.deb.files). Works offline; the tauri CLI comes from ui/'s npm dependencies.
package: system-deps ui
	$(CARGO) build --release --locked --package countersign-cli
	ui/node_modules/.bin/tauri build --bundles deb -- --locked
	@ls -1 target/release/bundle/deb/*.deb

test: system-deps-test ui lint test-rust bindings-check test-ui test-e2e

lint: ui-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	cd ui && npm run --silent typecheck && npm run --silent lint

# Inside a private D-Bus session with a real, unlocked gnome-keyring: the client's keychain
# tests use the real Secret Service, never a mock.
# --show-output keeps the proving-ground suites' `RELIABILITY` lines (issue 13), which
# scripts/reliability-lines.sh collects into target/reliability.txt for RELIABILITY.md.
test-rust:
	@mkdir -p target
	scripts/with-session-services.sh $(CARGO) test --workspace --locked -- --show-output 2>&1 | tee target/test-rust.log
	@scripts/reliability-lines.sh target/test-rust.log

# ts-rs regenerates ui/src/bindings while the Rust tests run; the committed copy must match.
bindings-check:
	@if ! git diff --quiet -- ui/src/bindings || [[ -n "$$(git ls-files --others --exclude-standard ui/src/bindings)" ]]; then \
	  echo "ui/src/bindings is out of date with the Rust types: commit what 'cargo test' generated" >&2; \
	  git status --short ui/src/bindings >&2; exit 1; fi

test-ui: ui-deps
	cd ui && npm test --silent

e2e-deps:
	@command -v tauri-driver >/dev/null || $(CARGO) install tauri-driver@^2 --locked --quiet

test-e2e: e2e-deps ui
	$(CARGO) build --package countersign --package countersign-gateway --package countersign-cli --locked
	tests/e2e/run.sh target/debug/countersign 2>&1 | tee target/test-e2e.log
	@scripts/reliability-lines.sh target/test-rust.log target/test-e2e.log

# Everything issue 14 measures, in one unattended run; scripts/bench-report.py then writes the
# figures beside their targets into BENCHMARKS.md. Results of this run only: the folder is
# emptied first and criterion's files older than the stamp are ignored.
bench: system-deps-bench ui
	rm -rf target/bench-results && mkdir -p target/bench-results && touch target/bench-results/.started
	$(CARGO) bench --locked --package countersign-core --bench job_hash
	$(CARGO) bench --locked --package countersign-ledger --bench ledger
	$(CARGO) bench --locked --package countersign-client --bench decide
	$(CARGO) bench --locked --package countersign-gateway --bench load
	scripts/bench-instructions.sh
	cd ui && npm run --silent bench -- --outputJson ../target/bench-results/ui.vitest.json
	scripts/bench-app.sh
	scripts/bench-report.py

# The proving-ground suites pushed further than make test: ten times the decisions, client
# kills and ledger kills, five minutes of gateway load (RELIABILITY.md says what each proves).
soak: system-deps-test
	@mkdir -p target
	COUNTERSIGN_SOAK=1 scripts/with-session-services.sh $(CARGO) test --locked --package countersign-client --test it -- exactly_once races drift_windows --show-output 2>&1 | tee target/soak.log
	COUNTERSIGN_SOAK=1 $(CARGO) test --locked --package countersign-ledger --test it -- crash --show-output 2>&1 | tee -a target/soak.log
	COUNTERSIGN_SOAK=1 $(CARGO) test --locked --package countersign-gateway --test load -- --show-output 2>&1 | tee -a target/soak.log
	@scripts/reliability-lines.sh target/soak.log

# Not part of `make test`: cargo-fuzz needs nightly, and a run is minutes long.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

clean:
	$(CARGO) clean
	rm -rf ui/dist ui/node_modules
