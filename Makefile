# Every habit of the project is a target here. A fresh machine needs only python3 and make:
# the first target that needs tools creates .venv and installs the project with its dev extras.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
REGION ?= us-east-1
# sam build needs an interpreter matching the python3.13 runtime; pyenv provides one here.
SAM_PYTHON_VERSION ?= 3.13.0
# No telemetry, no update checks: CI and developer machines reach only the package registries.
export SAM_CLI_TELEMETRY := 0

.PHONY: install lint validate unit integration e2e test run bench build build-check layer-wheels lock sam-local cost openapi template clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

validate: install
	$(BIN)/sam validate --lint --template template.yaml --region $(REGION)

unit: install
	$(BIN)/pytest tests/unit

integration: install
	$(BIN)/pytest tests/integration

e2e: install
	$(BIN)/pytest tests/e2e

# build-check first (15-60 s, 3 s when cached) so tests/build imports what sam build really produced. Without a
# Python 3.13 the build cannot run: say so, and tests/build skips (make test needs nothing beyond python3).
test: lint validate
	@if $(WITH_SAM_PYTHON) python3.13 --version >/dev/null 2>&1; then $(MAKE) --no-print-directory build-check; \
		else echo "make test: no Python 3.13, so no sam build; tests/build will be skipped"; fi
	$(BIN)/pytest

run: install
	$(BIN)/pollgate run

# One OpenAPI document per face, from the handlers' own models; tests/contract fails when they drift.
openapi: install
	$(BIN)/python -m pollgate_local.openapi

# The alarms template.yaml repeats per queue, workflow and HTTP API, rewritten from tools/template_alarms.py's list.
template: install
	$(BIN)/python -m tools.template_alarms

# The build first, when a Python 3.13 is there: bench_cold_start also measures the functions as built. Its
# output goes to build/bench-build.log, shown only if the build fails, so the figures are what the bench prints.
bench: install
	@if $(WITH_SAM_PYTHON) python3.13 --version >/dev/null 2>&1; then mkdir -p build; \
		echo "make bench: sam build (build-check), output in build/bench-build.log"; \
		$(MAKE) --no-print-directory build-check > build/bench-build.log 2>&1 || { cat build/bench-build.log; exit 1; }; fi
	$(BIN)/python -m bench

# AWS list-price cost of a million operations from the template's settings and durations measured on moto.
cost: install
	$(BIN)/python -m bench.cost

WITH_SAM_PYTHON := PYENV_VERSION=$(SAM_PYTHON_VERSION) PATH="$$(pyenv root 2>/dev/null)/shims:$$PATH"

# The layer's dependencies are locked, with hashes, in layers/core/requirements.txt (what BuildMethod python3.13
# installs): compiled from pyproject.toml's runtime dependencies by pip-tools, for Python 3.13, against PyPI
# alone (no local index or find-links of this machine). Refresh it after changing those dependencies with
# `make lock` (keeps every pin it can), or move everything to the newest versions the ranges allow with
# `make lock UPGRADE=1`; review the diff, then `make test`.
LOCK := layers/core/requirements.txt
LOCK_VENV := build/lock-venv
PIP_TOOLS_VERSION := 7.6.2
lock:
	$(WITH_SAM_PYTHON) python3.13 -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet pip-tools==$(PIP_TOOLS_VERSION)
	env -u PIP_FIND_LINKS -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
		$(LOCK_VENV)/bin/pip-compile --quiet \
		--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
		--index-url https://pypi.org/simple $(if $(UPGRADE),--upgrade) \
		--output-file $(LOCK) pyproject.toml

# sam build installs the layer from these wheels alone (PIP_NO_INDEX), each checked against the lock's hashes as
# it is downloaded here: this machine's (SAM's first pass downloads for the build host) and Lambda arm64's. SAM's
# second pass fetches a compiled package for the function's platform by name and version only, with no hash,
# so without this an arm64 build on an x86 machine would install pydantic-core or cryptography unchecked.
LAYER_WHEELS := .aws-sam/layer-wheels
LAMBDA_ARM64 := --only-binary=:all: --implementation cp --python-version 3.13 --abi cp313 \
	--platform manylinux2014_aarch64 --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64
$(LAYER_WHEELS)/.downloaded: $(LOCK)
	rm -rf $(LAYER_WHEELS)
	$(WITH_SAM_PYTHON) python3.13 -m pip download --quiet --require-hashes --no-deps -r $(LOCK) -d $(LAYER_WHEELS)
	$(WITH_SAM_PYTHON) python3.13 -m pip download --quiet --require-hashes --no-deps $(LAMBDA_ARM64) -r $(LOCK) \
		-d $(LAYER_WHEELS)
	touch $@
layer-wheels: $(LAYER_WHEELS)/.downloaded
FROM_LAYER_WHEELS := PIP_NO_INDEX=1 PIP_FIND_LINKS=$(CURDIR)/$(LAYER_WHEELS)

# Lambda's /opt and /var/task are read-only: Python cannot keep the bytecode it compiles there, so without .pyc in
# the artifacts every cold start compiles every module it imports (the layer's boto3, pydantic, Powertools, ours),
# and SAM's python builds ship none. unchecked-hash: the archive does not keep the sources' mtimes, which a
# timestamp .pyc is checked against; -f rewrites any .pyc an earlier import of the build left behind.
COMPILE_BUILD := $(WITH_SAM_PYTHON) python3.13 -m compileall -q -f -j 0 --invalidation-mode unchecked-hash

build: install layer-wheels
	$(FROM_LAYER_WHEELS) $(WITH_SAM_PYTHON) $(BIN)/sam build --template template.yaml --build-dir .aws-sam/build
	$(COMPILE_BUILD) .aws-sam/build

# The same build for this machine's architecture (the template says arm64), so tests/build can import every
# built function from the build output alone. Its own cache: SAM's cache is not keyed by architecture.
HOST_ARCH := $(shell uname -m | sed 's/aarch64/arm64/')
CHECK_BUILD := .aws-sam/build-$(HOST_ARCH)
build-check: install layer-wheels
	mkdir -p .aws-sam
	sed 's/\barm64\b/$(HOST_ARCH)/g' template.yaml > .aws-sam/template-$(HOST_ARCH).yaml
	$(FROM_LAYER_WHEELS) $(WITH_SAM_PYTHON) $(BIN)/sam build --cached --cache-dir .aws-sam/cache-$(HOST_ARCH) --base-dir . \
		--template .aws-sam/template-$(HOST_ARCH).yaml --build-dir $(CHECK_BUILD)
	$(COMPILE_BUILD) $(CHECK_BUILD)

# The built stack under SAM CLI's own emulator (needs a Docker daemon): every events/ file through `sam local
# invoke` and one `sam local start-api` flow per face, against `pollgate run --services-only` (tools/sam_local.py).
sam-local: build-check
	$(BIN)/python tools/sam_local.py

clean:
	rm -rf $(VENV) .aws-sam build .pytest_cache .mypy_cache .ruff_cache
