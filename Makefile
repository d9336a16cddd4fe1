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

.PHONY: setup demo test test-fast bench lint clean browser

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

$(STAMP): $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON) --quiet
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(VENV)/bin/trilink run --out out/demo

test: setup browser
	$(VENV)/bin/python -m pytest -n auto -q

test-fast: setup
	$(VENV)/bin/python -m pytest -n auto -q -m "not slow"

# Debian's chromium, for the headless-browser test of the HTML report (issue 6)
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update && apt-get install -y --no-install-recommends chromium; \
	else \
		echo "browser: /usr/bin/chromium missing; as root run: apt-get update && apt-get install -y --no-install-recommends chromium"; \
	fi

bench: setup
	$(VENV)/bin/python -m benchmarks

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

clean:
	rm -rf $(VENV) $(TOOLS) out .pytest_cache
