# Two entry points for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a GPU machine use e.g. TORCH_SPEC="torch" (CUDA build from PyPI).
TORCH_SPEC ?= torch==2.13.0
DATA := artifacts/data
MODEL := artifacts/model

.PHONY: setup demo test lint format bench sample

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

# The whole path on the bundled synthetic sample, on CPU, in a few minutes. A from-scratch BPE
# suits the 2-layer demo model (GPT-2's 50k-token output layer would dominate its compute); 5% of
# songs are held out so the perplexity table has enough of them.
demo: setup
	$(BIN)/python -m pipeline.preprocess --input data/sample.csv.gz --output-dir $(DATA) \
		--tokenizer bpe:8000 --val-fraction 0.05
	$(BIN)/accelerate launch --cpu --num_processes 1 --num_machines 1 --mixed_precision no \
		--dynamo_backend no lyrics_gpt2/train.py --preset tiny --data-dir $(DATA) \
		--output-dir $(MODEL) --overwrite
	$(BIN)/python -m lyrics_gpt2.generate --model $(MODEL) --genre both --num-songs 2 \
		--output artifacts/songs.txt
	@cat artifacts/songs.txt
	$(BIN)/python -m lyrics_gpt2.perplexity --model $(MODEL) --data-dir $(DATA) \
		--json artifacts/perplexity.json
	$(BIN)/python -m lyrics_gpt2.report --model $(MODEL) --data-dir $(DATA) --out artifacts/report \
		--num-songs 32 > artifacts/report.txt
	@echo
	@echo "Artifacts:"
	@echo "  clean chunks      $(DATA)/chunks/  (manifest.json: what was dropped and why)"
	@echo "  training data     $(DATA)/tokenized/, tokenizer in $(DATA)/tokenizer/"
	@echo "  model             $(MODEL)/  (metrics.jsonl, train_loss.png, val_loss.png, summary.json)"
	@echo "  songs             artifacts/songs.txt"
	@echo "  perplexity        artifacts/perplexity.json"
	@echo "  evaluation report artifacts/report/report.md  (report.json, PNGs)"
	@echo
	@cat artifacts/report.txt

test: setup
	$(BIN)/python -m lyrics_gpt2.gpt2_vocab --out artifacts/gpt2-tokenizer
	$(BIN)/python -m pytest

# Benchmarks print their figures; run them on an otherwise idle machine.
bench: setup
	$(BIN)/python -m lyrics_gpt2.gpt2_vocab --out artifacts/gpt2-tokenizer
	$(BIN)/python benchmarks/preprocess.py --rows 100000
	$(BIN)/python benchmarks/encode.py
	$(BIN)/python benchmarks/train.py
	$(BIN)/python benchmarks/generate.py

# Regenerate the bundled sample (the test suite checks it is reproduced byte for byte).
sample: setup
	$(BIN)/python -m pipeline.synth --rows 10000 --seed 2029 --out data/sample.csv.gz

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
