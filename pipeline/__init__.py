"""Preprocessing stages: raw lyrics CSV -> clean Parquet chunks -> tokenized training data."""
