# Developer shortcuts; CI runs .ci/run (the README's two commands).
PY ?= .venv/bin/python

.PHONY: style quality test bench

style:  ## format and auto-fix
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

quality:  ## lint, format check, types
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

test:
	$(PY) -m pytest

bench:
	$(PY) benchmarks/index_speed.py
