"""Stage 2 (``tokenize``) of ``python -m pipeline.preprocess``: see ``stage.py``.

``stage.py`` runs the stage and publishes its outputs, ``source.py`` finds the chunks, builds the
tokenizer and computes the cache keys, ``workers.py`` spreads the chunks over processes,
``chunk.py`` turns one chunk into one part (pure steps on a frozen ``ChunkTask``), ``stats.py``
merges counts and length statistics.
"""
