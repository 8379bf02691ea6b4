# Two entry points (see README): `make sweep` (the main job) and `make test`.
# Both create .venv on first use and reuse it afterwards.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements/runtime.txt requirements/test.txt requirements/lava.txt pyproject.toml

.PHONY: setup test sweep bench clean-venv

setup: $(STAMP)

# lava-nc 0.10 / lava-dl 0.6 declare Python <3.11 and pin torch 2.3 and numpy <2;
# they run on 3.11 with our pins, so they go in with --no-deps (their real runtime
# dependencies are in requirements/runtime.txt).
$(STAMP): $(REQUIREMENTS)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements/runtime.txt -r requirements/test.txt
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python -r requirements/lava.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

test: $(STAMP) chromium
	$(PY) -m ruff check .
	MPLBACKEND=Agg $(PY) -m pytest -q

# The report test renders its HTML in headless Chromium (Debian's package). Installed here
# when missing and running as root, so CI does not skip it; a no-op once installed.
chromium:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "make: installing chromium (headless browser for tests/test_report.py) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	      || { echo "make: apt-get could not install chromium (see above); the report test needs it" >&2; exit 1; }; \
	  else \
	    echo "make: chromium is not installed and this is not root with apt-get, so tests/test_report.py will skip its browser check; install it with: sudo apt-get install chromium" >&2; \
	  fi; }
.PHONY: chromium

sweep: $(STAMP)
	$(VENV)/bin/codesign sweep examples/digits.toml --study studies/digits.sqlite

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements/bench.txt
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_optimizer.py

clean-venv:
	rm -rf $(VENV)
