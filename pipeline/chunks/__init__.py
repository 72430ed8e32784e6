"""Stage 1 (``chunks``) of ``python -m pipeline.preprocess``: raw CSV -> 40 clean Parquet chunks.

``stage`` streams, cleans and shards the songs (pipeline/read.py reads the CSV, pipeline/clean.py
and pipeline/langid.py hold the rules); ``files`` keeps the per-chunk staging files, the dedup
keys and writes each final chunk.
"""
