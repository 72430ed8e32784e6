# Two entry points for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a GPU machine use e.g. TORCH_SPEC="torch" (CUDA build from PyPI).
TORCH_SPEC ?= torch==2.13.0

.PHONY: setup demo test lint format bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

demo: setup
	$(BIN)/python -m pipeline.preprocess --input data/sample.csv.gz --output-dir artifacts/data

test: setup
	$(BIN)/python -m lyrics_gpt2.gpt2_vocab --out artifacts/gpt2-tokenizer
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
