"""Scoring songs with a model, shared by training's validation, ``python -m lyrics_gpt2.perplexity``
and ``python -m lyrics_gpt2.compare``: ``scoring`` (per-song NLL), ``songs`` (held-out songs and the
batched scorer), ``summary`` (perplexity, bits per byte, the one bootstrap, the table), ``swap``
(genre and artist swap matrices), ``lyrics_perplexity/`` (the same as an ``evaluate`` metric).
"""
