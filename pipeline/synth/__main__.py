"""``python -m pipeline.synth``: write a seeded synthetic lyrics CSV (pipeline/synth/cli.py)."""

import sys

from lyrics_gpt2.cli import run
from pipeline.synth.cli import main

sys.exit(run(main))
