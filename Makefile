# make run   - set everything up, build the bundled sample map, open the dashboard
# make test  - set everything up and run the whole test suite (browser tests included)
# make bench - speed and quality benchmark against BERTopic (writes BENCHMARKS.md)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
MAP    ?= maps/sample
PORT   ?= 8501

.PHONY: run test setup setup-dev browser sample-map lint bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed

setup-dev: $(VENV)/.installed-dev

# Debian's chromium drives the browser tests (Playwright's own download is not used).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver; \
	  else echo "note: /usr/bin/chromium missing; browser tests will be skipped (apt-get install chromium)"; fi; \
	fi

$(MAP)/manifest.json: sample/papers.csv | $(VENV)/.installed
	$(PY) -m pipeline build sample/papers.csv --out $(MAP) --title "Computer science sample (600 papers)"

sample-map: setup $(MAP)/manifest.json

run: sample-map
	$(VENV)/bin/streamlit run dashboard.py --server.address 127.0.0.1 --server.port $(PORT) \
	  --browser.gatherUsageStats false -- --map $(MAP)

test: setup-dev browser
	$(PY) -m pytest -q

lint: setup-dev
	$(VENV)/bin/ruff check .

bench: setup-dev
	$(PIP) install --quiet -r requirements-bench.txt
	$(PY) -m pipeline.bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
