"""The report's genre classifier: TF-IDF of words and word pairs + logistic regression.

    clf = GenreClassifier.fit(train_texts, train_genres)
    clf.predict(["some lyrics"]), clf.proba_of(["some lyrics"], ["rap"])

Trained on the training split only (seconds on CPU) by ``python -m lyrics_gpt2.report``, saved
as ``OUT/classifier-<digest>.joblib`` and reused while the data's digest is unchanged. Its
accuracy on the held-out songs is the ceiling for the generated songs' ``fidelity``;
``python -m lyrics_gpt2.generate --best-of N`` ranks candidates with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lyrics_gpt2.fileio import atomic_path

# Enough features for the full dump's vocabulary without growing with it.
MAX_FEATURES = 200_000


class GenreClassifier:
    def __init__(self, pipeline):
        self.pipeline = pipeline

    @property
    def genres(self) -> list[str]:
        return [str(g) for g in self.pipeline.classes_]

    @classmethod
    def fit(cls, texts: Sequence[str], genres: Sequence[str], seed: int = 0) -> GenreClassifier:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        pipe = make_pipeline(
            TfidfVectorizer(
                lowercase=True,
                token_pattern=r"[a-z0-9']+",
                ngram_range=(1, 2),
                sublinear_tf=True,
                max_features=MAX_FEATURES,
            ),
            LogisticRegression(max_iter=1000, C=4.0, random_state=seed),
        )
        pipe.fit(list(texts), list(genres))
        return cls(pipe)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(g) for g in self.pipeline.predict(list(texts))]

    def proba_of(self, texts: Sequence[str], genres: Sequence[str]) -> np.ndarray:
        """[len(texts)] the probability each text has the genre asked for it (0 if unknown)."""
        proba = self.pipeline.predict_proba(list(texts))
        col = {g: i for i, g in enumerate(self.genres)}
        return np.array(
            [proba[r, col[g]] if g in col else 0.0 for r, g in enumerate(genres)], dtype=float
        )

    def save(self, path: str | Path) -> None:
        import joblib

        with atomic_path(path) as tmp:
            joblib.dump(self.pipeline, tmp)

    @classmethod
    def load(cls, path: str | Path) -> GenreClassifier:
        import joblib

        return cls(joblib.load(path))
