"""Polyphonic music: a piano-roll LSTM trained on MIDI/ABC tunes, written back out as MIDI.

    python -m lyrics_gpt2.music.train --output-dir artifacts/music/bach          # Bach chorales
    python -m lyrics_gpt2.music.generate --model artifacts/music/bach --output-dir artifacts/music/tunes
    python -m lyrics_gpt2.music.evaluate --model artifacts/music/bach

Modules: ``roll`` (notes <-> piano roll on a grid, MIDI in and out, roll PNG), ``corpus`` (music21's
bundled corpus or a folder into cached rolls, the split), ``model`` (the LSTM, its windows and
folder), ``evaluate`` (frame NLL and accuracy against two baselines), ``train``, ``generate``.
Training shares the lyric RNNs' machinery (``lyrics_gpt2.rnn.loop``).
"""
