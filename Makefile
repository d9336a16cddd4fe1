# Everything a fresh Debian machine with Python 3.11 needs, idempotently.
#   make demo   -> set up, then run the seed scenario end to end (embedded mode)
#   make test   -> set up, then run every test (slow ones included)
PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
STAMP := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup demo test test-fast bench lint clean browser tshark node web serve
WEB := web
WEB_STAMP := $(WEB)/dist/.built

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON) --quiet
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/trilink run --out out/demo

test: setup browser tshark web
	$(VENV)/bin/python -m pytest -n auto -q --durations=25

test-fast: setup web
	$(VENV)/bin/python -m pytest -n auto -q -m "not slow"

# Debian's chromium, for the headless-browser test of the HTML report (issue 6)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && apt-get install -y --no-install-recommends chromium; \
	else \
		echo "browser: /usr/bin/chromium missing; as root run: apt-get update && apt-get install -y --no-install-recommends chromium"; \
	fi

# Debian's tshark, to decode the DIS export's PDUs in its test (issue 8)
tshark:
	@if command -v tshark >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tshark; \
	else \
		echo "tshark: missing; as root run: apt-get update && apt-get install -y --no-install-recommends tshark"; \
	fi

# Node.js and npm, to build the web page (Debian's packages where the machine has none)
node:
	@if command -v npm >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm; \
	else \
		echo "node: npm missing; as root run: apt-get update && apt-get install -y nodejs npm"; exit 1; \
	fi

# The operator's web page (CesiumJS from the npm registry), built, never committed
$(WEB_STAMP): | node
$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json $(wildcard $(WEB)/src/*) $(wildcard $(WEB)/*.mjs)
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && npm run build
	touch $@

web: $(WEB_STAMP)

serve: setup web
	$(VENV)/bin/trilink serve

bench: setup
	$(VENV)/bin/python -m benchmarks

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) out .pytest_cache $(WEB)/node_modules $(WEB)/dist
