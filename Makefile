# The whole set-up is here: `make test` and `make demo` create .venv and
# install the package with its extras on first use (or when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test test-thorough test-oldest mutants demo parity bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# The project's own folders only: a stray script or notebook in the checkout is not linted.
LINTED := tinygrad_rnn tests demos benchmarks tools

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINTED)

test: lint
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

test-thorough: lint
	HYPOTHESIS_PROFILE=thorough $(PY) -m pytest -q

# The suite under the lowest versions pyproject.toml declares (numpy, rich, pytest, ...),
# pinned exactly in a separate venv, so that the lower bounds stay true. Not in CI.
OLDEST := .venv-oldest
test-oldest:
	rm -rf $(OLDEST)
	$(PYTHON) -m venv $(OLDEST)
	$(PYTHON) tools/lowest_versions.py test > $(OLDEST)/lowest.txt
	$(OLDEST)/bin/python -m pip install --quiet -r $(OLDEST)/lowest.txt
	$(OLDEST)/bin/python -m pip install --quiet --no-deps -e .
	$(OLDEST)/bin/python -m pip list | grep -i -E '^(numpy|rich|pytest|pytest-timeout|hypothesis) '
	HYPOTHESIS_PROFILE=ci $(OLDEST)/bin/python -m pytest -q -p no:cacheprovider

# Mutation testing (not in CI): mutmut over every module of the package, then the score and any
# survivor that tests/surviving_mutants.py does not explain (an error). The whole package is about
# 12,000 mutants, hours on 2 cores, so it runs in parts: `make mutants PART=layers` mutates only
# that part's modules (engine, layers, compiler; no PART: all, continuing where a run stopped).
# Results accumulate in mutants/; `.venv/bin/mutmut browse` walks through the survivors.
MUTANTS_engine := tensor.* bookkeeping.* ops.* gradcheck.* nn.steps.* nn.layers.* nn.functional.* optim.*
MUTANTS_layers := nn.recurrent.* nn.module.* nn.utils.* train.* fused.* autograd.* io.* viz.* data.* checks.* modes.* array_methods.*
MUTANTS_compiler := compiler.* forward_mode.* nn.rtrl.*
mutants: $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,mutants]'
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/mutmut run --max-children $(shell nproc 2>/dev/null || echo 2) \
		$(if $(PART),$(if $(MUTANTS_$(PART)),$(foreach m,$(MUTANTS_$(PART)),"tinygrad_rnn.$(m)"),\
		$(error PART=$(PART): expected engine, layers or compiler)))
	$(PY) tools/mutation_report.py

demo: $(STAMP)
	$(PY) -m demos --all --quick

# PyTorch is only a cross-check, never a dependency: a CPU build from the local wheel.
WHEELS := $(wildcard /opt/wheels)
parity: $(STAMP)
	$(PY) -c "import torch" 2>/dev/null || \
		$(PY) -m pip install --quiet $(if $(WHEELS),--find-links $(WHEELS)) torch==2.13.0
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q tests/parity tests/test_bench_reference.py::test_torch_gradients_equal_hand_derived_numpy

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(OLDEST) mutants .pytest_cache .hypothesis .ruff_cache *.egg-info
