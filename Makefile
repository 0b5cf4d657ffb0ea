# The whole set-up is here: `make test` and `make demo` create .venv and
# install the package with its extras on first use (or when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-thorough demo parity bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

test-thorough: lint
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q

demo: $(STAMP)
	$(PY) -m demos --all --quick

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache *.egg-info
