# Each target creates .venv and installs on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint format bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict listener storage collectors
	$(BIN)/python -m pytest

demo: $(STAMP)
	@$(BIN)/listener demo --dir $$(mktemp -d)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy --strict listener storage collectors

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/ingest.py --n 200000

clean:
	rm -rf $(VENV) build *.egg-info
