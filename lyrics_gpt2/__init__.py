"""Genre-conditioned GPT-2 lyrics generation: training, sampling and evaluation."""

__version__ = "0.1.0"
