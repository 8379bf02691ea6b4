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

test: $(STAMP)
	MPLBACKEND=Agg $(PY) -m pytest -q

sweep: $(STAMP)
	$(VENV)/bin/codesign sweep examples/digits.toml --study studies/digits.sqlite

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements/bench.txt
	$(PY) benchmarks/bench_core.py
	$(PY) benchmarks/bench_optimizer.py

clean-venv:
	rm -rf $(VENV)
