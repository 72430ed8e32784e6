"""From songs to the report's figures: the cached classifier and n-gram index, per-genre metrics
for each source, the most-copied song, and ``best_of`` (used by generate's ``--best-of``).

The command is lyrics_gpt2.report (``python -m lyrics_gpt2.report``); this module has none.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lyrics_gpt2.report import measures as metrics
from lyrics_gpt2.report.classifier import GenreClassifier
from lyrics_gpt2.report.corpus import RealSong, data_digest, load_split, split_texts
from lyrics_gpt2.report.ngrams import MIN_DISTINCT, NgramIndex, longest_common_run

NGRAM = 8
# Self-BLEU compares every song with every other: it depends on how many there are, so both
# sources are measured on at most this many songs per genre (a seeded sample).
SELF_BLEU_SONGS = 64


@dataclass(frozen=True)
class Judged:
    """A song to score: from the model (``ended`` known) or from a file or the held-out split."""

    genre: str
    text: str
    ended: bool | None = None
    sections: list[dict] | None = None  # [{"kind", "text"}] for a song written with sections
    controls: dict | None = None  # what generate was asked for (form, rhyme_scheme, syllables)


@dataclass
class Reference:
    """What every song is judged against, loaded once per data folder."""

    train: list[RealSong]
    held_out: list[RealSong]
    classifier: GenreClassifier
    index: NgramIndex
    digest: str

    def training_words(self, i: int) -> list[str]:
        return metrics.words(self.train[i].text)


def load_reference(
    data_dir: str | Path,
    classifier_dir: str | Path,
    max_ngrams: int = 50_000_000,
    log=print,
) -> Reference:
    """Training and held-out songs, the classifier (cached in ``classifier_dir``) and the n-gram
    index (cached in ``DATA/report-cache``), each rebuilt only when the data changed."""
    data_dir = Path(data_dir)
    train, held = load_split(data_dir, "train"), load_split(data_dir, "validation")
    digest = data_digest(data_dir)
    clf_path = Path(classifier_dir) / f"classifier-{digest}.joblib"
    if clf_path.is_file():
        clf = GenreClassifier.load(clf_path)
    else:
        log(f"training the genre classifier on {len(train):,} songs")
        clf = GenreClassifier.fit([s.text for s in train], [s.genre for s in train])
        clf.save(clf_path)
    idx_path = index_path(data_dir, max_ngrams)
    if idx_path.is_file():
        index = NgramIndex.load(idx_path)
    else:
        log(f"indexing the word {NGRAM}-grams of {len(train):,} training songs")
        index, _ = build_index(data_dir, max_ngrams)
    return Reference(train, held, clf, index, digest)


def index_path(data_dir: str | Path, max_ngrams: int = 50_000_000) -> Path:
    # MIN_DISTINCT in the key: an index built before low-information n-grams were left out
    # is rebuilt.
    key = data_digest(data_dir, NGRAM, max_ngrams, MIN_DISTINCT)
    return Path(data_dir) / "report-cache" / f"ngrams-{key}.npz"


def build_index(data_dir: str | Path, max_ngrams: int = 50_000_000) -> tuple[NgramIndex, int]:
    """Index the training split's word n-grams, streamed from the chunks, and cache it where
    :func:`load_reference` looks; returns the index and the number of n-grams read."""
    index = NgramIndex.build_numbered(split_texts(data_dir, "train"), NGRAM, max_ngrams)
    index.save(index_path(data_dir, max_ngrams))
    return index, index.seen


def copying(ref: Reference, text: str) -> tuple[float, int, int | None]:
    """(copied n-gram share, longest copied run in words, training song holding that run)."""
    share = ref.index.copied_share(text)
    best, where = 0, None
    mine = metrics.words(text)
    for cand in ref.index.candidates(text):
        run = longest_common_run(mine, ref.training_words(cand))
        if run > best:
            best, where = run, cand
    return share, best, where


def source_figures(ref: Reference, songs: Sequence[Judged], seed: int = 0) -> dict:
    """{genre: figures} for one source's songs (see the README's metric list)."""
    out = {}
    for genre in sorted({s.genre for s in songs}):
        group = [s for s in songs if s.genre == genre]
        texts = [s.text for s in group]
        copies = [copying(ref, t) for t in texts]
        fig: dict = {"songs": len(group)}
        fig["fidelity"] = float(np.mean([p == genre for p in ref.classifier.predict(texts)]))
        fig["copied_ngram_share"] = float(np.mean([c[0] for c in copies]))
        fig["max_copied_words"] = float(np.mean([c[1] for c in copies]))
        fig["max_copied_words_worst"] = int(max(c[1] for c in copies))
        for name, fn in metrics.PER_SONG.items():
            fig[name] = float(np.mean([fn(t) for t in texts]))
        sample = random.Random(seed).sample(texts, min(len(texts), SELF_BLEU_SONGS))
        fig["self_bleu"] = metrics.self_bleu(sample)
        if all(s.ended is not None for s in group):
            fig["ended_share"] = float(np.mean([bool(s.ended) for s in group]))
        out[genre] = fig
    return out


def most_copied(ref: Reference, songs: Sequence[Judged]) -> dict | None:
    """The song with the longest copied run and its nearest training song, for side by side."""
    best = None
    for s in songs:
        share, run, where = copying(ref, s.text)
        if where is not None and (best is None or run > best["max_copied_words"]):
            best = {
                "genre": s.genre,
                "text": s.text,
                "copied_ngram_share": share,
                "max_copied_words": run,
                "training_id": ref.train[where].id,
                "training_text": ref.train[where].text,
            }
    return best


def classifier_figures(ref: Reference) -> dict:
    """Accuracy on the held-out songs: the ceiling for the generated songs' fidelity."""
    truth = [s.genre for s in ref.held_out]
    pred = ref.classifier.predict([s.text for s in ref.held_out])
    per = {
        g: float(np.mean([p == g for p, t in zip(pred, truth, strict=True) if t == g]))
        for g in sorted(set(truth))
    }
    return {
        "model": "TF-IDF (words and word pairs) + logistic regression",
        "trained_on": f"{len(ref.train)} training songs",
        "held_out_songs": len(truth),
        "accuracy": float(np.mean([p == t for p, t in zip(pred, truth, strict=True)])),
        "accuracy_per_genre": per,
        "genres": ref.classifier.genres,
    }


def best_of(ref_classifier: GenreClassifier, index: NgramIndex | None, texts, genre: str) -> int:
    """Position of the candidate ranked best for ``genre``: the classifier's probability of the
    genre minus the share of its word 8-grams copied from training songs."""
    score = ref_classifier.proba_of(texts, [genre] * len(texts))
    if index is not None:
        score = score - np.array([index.copied_share(t) for t in texts])
    return int(np.argmax(score))
