"""Seeded synthetic lyrics corpus in the Genius ds.csv layout (and three others).

    python -m pipeline.synth --rows 10000 --seed 2080 --out data/sample.csv.gz      # bundled sample
    python -m pipeline.synth --rows 1000000 --out /tmp/ds.csv --quiet                # a benchmark input
    python -m pipeline.synth --rows 5000 --out /tmp/s.csv --layout songdata --crlf
    python -m pipeline.synth --rows 5000 --out /tmp/t.csv --truth /tmp/t.truth.csv   # with ground truth
    python -m pipeline.synth --rows 5000 --out /tmp/c.csv --junk-rate 0              # clean songs only
    python -m pipeline.synth --rows 5000 --out /tmp/x.csv --rate foreign=0.3 --rate book=0.01

Layouts (``--layout``):

- ``genius`` (default): ``title,tag,artist,year,views,features,lyrics,id`` as Kaggle's ds.csv;
- ``genius-lang``: the same plus ``language_cld3,language_ft,language`` (song_lyrics.csv);
- ``songdata``: ``artist,song,link,text``, every field quoted, lines ending in two spaces;
- ``multilingual``: ``Artist,Song,Genre,Language,Lyrics`` (Multi-Lingual Lyrics train.csv).

Lyrics come from the original line banks in ``pipeline/synth/banks/`` (one per Genius tag),
with section headers, ad-libs, repeated choruses and blank lines between stanzas. Every junk kind of the
real dump appears at a configurable rate (``JUNK_RATES``, ``--rate KIND=R``, ``--junk-rate R``), and
``--truth PATH`` writes what each row really is (``row,id,kind,tag,language,flags``), so a cleaner's
detectors can be scored against it.

The output streams in constant memory (a few pools of lines, a ring of recent rows), is written
atomically, and is byte-identical for the same arguments: one ``random.Random(seed)`` drives every
choice, and a ``.gz`` output gets a fixed gzip header (no file name, mtime 0).

Modules, in the order a row passes through them:

- ``config.py``: layouts, tag shares, junk and flag rates, song shapes; ``SynthConfig``, ``Song``;
- ``banks.py`` + ``banks/*.json``: the line banks (data only) and how templates split into halves;
- ``lines.py``: compiled templates, refreshed line pools, foreign words, titles;
- ``songs.py``: ``Synthesizer``, the seeded stream of rows and its clean English songs;
- ``junk.py``: misc texts, books and every junk kind;
- ``layout.py``: a row's CSV fields per layout and its one way into text (``row_text``);
- ``write.py``: ``generate``, the atomic, streaming writer;
- ``cli.py`` / ``__main__.py``: the command line.
"""

from pipeline.synth.cli import build_parser, config_from_args, main
from pipeline.synth.config import (
    FLAG_RATES,
    JUNK_RATES,
    KINDS,
    LAYOUTS,
    TAG_SHARES,
    TRUTH_HEADER,
    Song,
    SynthConfig,
)
from pipeline.synth.layout import csv_line, fields_for, genius_text, row_text
from pipeline.synth.songs import Synthesizer
from pipeline.synth.write import generate

__all__ = [
    "FLAG_RATES",
    "JUNK_RATES",
    "KINDS",
    "LAYOUTS",
    "TAG_SHARES",
    "TRUTH_HEADER",
    "Song",
    "SynthConfig",
    "Synthesizer",
    "build_parser",
    "config_from_args",
    "csv_line",
    "fields_for",
    "generate",
    "genius_text",
    "main",
    "row_text",
]
