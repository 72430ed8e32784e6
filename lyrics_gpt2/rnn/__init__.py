"""RNN lyric models (char-rnn, char-gru, char-lstm, word-lstm) trained on the same songs as GPT-2.

    python -m lyrics_gpt2.rnn.train --arch char-lstm --data-dir artifacts/data --output-dir artifacts/rnn/char-lstm
    python -m lyrics_gpt2.rnn.generate --model artifacts/rnn/char-lstm --num-songs 3
    python -m lyrics_gpt2.compare --data-dir artifacts/data --models artifacts/model artifacts/rnn/*

The package reads only the data files (``DATA/chunks``, ``DATA/tokenized``) and the stable
modules ``lyrics_gpt2.cli``, ``lyrics_gpt2.fileio`` and ``lyrics_gpt2.genres``.
"""
