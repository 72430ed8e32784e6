# Two entry points for a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; on a GPU machine use e.g. TORCH_SPEC="torch" (CUDA build from PyPI).
TORCH_SPEC ?= torch==2.13.0
DATA := artifacts/data
MODEL := artifacts/model

.PHONY: setup demo test lint format bench sample rnn-demo music-demo serve

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
		--tokenizer bpe:8000 --val-fraction 0.05 --sections
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

# The web page and HTTP API on the demo model (run `make demo` first): http://127.0.0.1:8000/
serve: setup
	$(BIN)/python -m lyrics_gpt2.serve --model $(MODEL)

# Regenerate the bundled sample (the test suite checks it is reproduced byte for byte).
sample: setup
	$(BIN)/python -m pipeline.synth --rows 10000 --seed 2080 --out data/sample.csv.gz

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# RNN lyric models vs the tiny GPT-2 on the bundled sample, each trained for about the same CPU
# time (RNN_MINUTES of training steps; GPT2_STEPS steps of the tiny preset took about as long on
# an idle 2-core machine: 6.3 steps/s), then one bits-per-byte table and samples of the
# artist-conditioned char-LSTM.
RNN := artifacts/rnn
RNN_MINUTES ?= 4
GPT2_STEPS ?= 1500
RNN_TRAIN := $(BIN)/python -m lyrics_gpt2.rnn.train --data-dir $(DATA) --max-minutes $(RNN_MINUTES) \
	--eval-every 100 --batch-size 64 --overwrite
rnn-demo: setup
	$(BIN)/python -m pipeline.preprocess --input data/sample.csv.gz --output-dir $(DATA) \
		--tokenizer bpe:8000 --val-fraction 0.05 --quiet
	$(BIN)/accelerate launch --cpu --num_processes 1 --num_machines 1 --mixed_precision no \
		--dynamo_backend no lyrics_gpt2/train.py --preset tiny --data-dir $(DATA) \
		--output-dir $(MODEL) --overwrite --max-steps $(GPT2_STEPS) --eval-every $(GPT2_STEPS)
	$(RNN_TRAIN) --arch char-rnn --output-dir $(RNN)/char-rnn
	$(RNN_TRAIN) --arch char-gru --output-dir $(RNN)/char-gru
	$(RNN_TRAIN) --arch char-lstm --output-dir $(RNN)/char-lstm
	$(RNN_TRAIN) --arch word-lstm --layers 3 --hidden-size 256 --embed-dim 256 --dropout 0.3 \
		--output-dir $(RNN)/word-lstm
	$(RNN_TRAIN) --arch char-lstm --condition artist --artists 10 --output-dir $(RNN)/char-lstm-artist
	$(BIN)/python -m lyrics_gpt2.compare --data-dir $(DATA) --json artifacts/compare.json \
		--models $(MODEL) $(RNN)/char-rnn $(RNN)/char-gru $(RNN)/char-lstm $(RNN)/word-lstm \
		$(RNN)/char-lstm-artist
	$(BIN)/python -m lyrics_gpt2.rnn.generate --model $(RNN)/char-lstm-artist --artist Starla \
		--prime "Why" --num-songs 2 --max-length 400 --seed 1
	$(BIN)/python -m lyrics_gpt2.rnn.generate --model $(RNN)/char-lstm-artist --artist "Nickel Gotti" \
		--prime "Well" --num-songs 2 --max-length 400 --seed 1

# The piano-roll LSTM on music21's bundled Bach chorales (parsed once, 1-2.5 minutes, then cached
# in artifacts/cache/music): MUSIC_MINUTES of training, the NLL table against both baselines,
# and two tunes primed with the first two bars of a chorale (.mid + .png each).
MUSIC := artifacts/music
MUSIC_MINUTES ?= 3
music-demo: setup
	$(BIN)/python -m lyrics_gpt2.music.train --corpus bach --output-dir $(MUSIC)/bach \
		--max-minutes $(MUSIC_MINUTES) --eval-every 100 --overwrite
	$(BIN)/python -m lyrics_gpt2.music.evaluate --model $(MUSIC)/bach --json $(MUSIC)/evaluation.json
	$(BIN)/python -m lyrics_gpt2.music.generate --model $(MUSIC)/bach --prime-tune bach/bwv66.6 \
		--prime-bars 2 --bars 8 --num-tunes 2 --temperature 0.8 --seed 1 --output-dir $(MUSIC)/tunes
	@echo
	@echo "Artifacts: model $(MUSIC)/bach/ (loss.png, summary.json), tunes $(MUSIC)/tunes/ (.mid, .png)"
