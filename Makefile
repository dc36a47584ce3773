# Two entry points a new user needs: `make demo` and `make test`.
# Both create (or reuse) a local virtual environment in .venv; a second run skips the install.
PYTHON ?= python3
VENV ?= .venv
# CPU build by default (on this project's machines it comes from local disk). On a GPU machine:
#   make demo TORCH_SPEC=torch        (or install your CUDA torch into .venv first)
TORCH_SPEC ?= torch==2.13.0
EXTRAS ?= dev
BIN := $(VENV)/bin
STAMP := $(VENV)/.fresco-installed-$(EXTRAS)

.PHONY: install demo test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $(STAMP)

install: $(STAMP)

# Main job: the default experiment on the embedded Indian Pines scene (ships inside tensorly).
demo: $(STAMP)
	WANDB_MODE=$${WANDB_MODE:-offline} $(BIN)/fresco $(ARGS)

# Lint (ruff, then the import layers of pyproject.toml), then the fast test suite (slow tests deselected); `make test-all` runs everything.
test: $(STAMP)
	$(BIN)/ruff check fresco tests benchmarks
	$(BIN)/lint-imports
	WANDB_MODE=disabled $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	WANDB_MODE=disabled $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check fresco tests benchmarks
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache
