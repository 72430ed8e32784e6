"""Rows that are not clean English songs: misc texts (poems, chapters, scripts, essays), books,
and every junk kind of ``JUNK_RATES`` (placeholders, foreign songs, translation pages, ...).

:class:`JunkRows` is a base of :class:`pipeline.synth.songs.Synthesizer`, which picks a kind and
calls its ``_make_<kind>`` method; the state declared below is set up by the synthesizer.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from random import Random

from pipeline.synth import banks as B
from pipeline.synth.config import BOOK_MIN_CHARS, FOREIGN_POOL, LAYOUTS, Song, SynthConfig
from pipeline.synth.lines import GenreBank, foreign_words, roman, title_from


class JunkRows:
    """Builders of the misc and junk rows; they draw from the synthesizer's one random stream."""

    cfg: SynthConfig
    rnd: Random
    banks: dict[str, GenreBank]
    artists: dict[str, list[str]]
    recent: deque[Song]
    lang_names: list[str]
    lang_cum: list[float]
    next_id: int
    _foreign: dict[str, list[str]]

    def _meta(self, tag: str, kind: str) -> Song:
        raise NotImplementedError

    def _pick_tag(self) -> str:
        raise NotImplementedError

    def _make_clean(self, tag: str | None = None) -> Song:
        raise NotImplementedError

    # -- misc: poems, chapters, scripts, essays ---------------------------------------------
    def _misc_length(self) -> int:
        # median ~3,500 characters, long tail (the dump's misc mean is ~7,400)
        return min(100_000, int(self.rnd.lognormvariate(7.95, 1.0)))

    def _misc_text(self, target: int) -> str:
        rnd = self.rnd
        r = rnd.random
        choices = rnd.choices
        bank = self.banks["misc"]
        form = r()
        parts: list[str] = []
        size = 0
        n = 0
        while size < target:
            n += 1
            if form < 0.3:  # a poem
                block = f"{roman(n)}\n" + "\n".join(choices(bank.hook, k=4))
            elif form < 0.6:  # a numbered chapter
                verses = choices(bank.verse, k=8 + int(r() * 13))
                block = f"[Chapter {n}]\n" + "\n".join(f"{i} {v}" for i, v in enumerate(verses, 1))
            elif form < 0.8:  # a TV script scene
                k = 6 + int(r() * 9)
                said = zip(
                    choices(B.SCRIPT_SPEAKERS, k=k), choices(B.SCRIPT_LINES, k=k), strict=True
                )
                block = "\n".join(
                    [choices(B.SCRIPT_DIRECTIONS)[0], *(f"{a}: {b}" for a, b in said)]
                )
            else:  # an essay paragraph
                sents = choices(B.ESSAY_SENTENCES, k=3) + choices(bank.verse, k=3)
                rnd.shuffle(sents)
                block = " ".join(sents)
            parts.append(block)
            size += len(block) + 2
        bank.refresh()
        return "\n\n".join(parts)

    def _make_book(self) -> Song:
        song = self._meta("misc", "book")
        song.artist = self.rnd.choice(B.MISC_AUTHORS)
        song.text = self._misc_text(BOOK_MIN_CHARS + int(self.rnd.random() * 60_000))
        while len(song.text) <= BOOK_MIN_CHARS:  # blocks may end short of the target
            song.text += "\n\n" + self._misc_text(4_000)
        song.title = f"Book {self.rnd.randint(1, 40)}: The {self.rnd.choice(B.MISC['slots']['misc_obj'])[4:].title()}"
        return song

    # -- junk ------------------------------------------------------------------------------
    def _make_nan(self) -> Song:
        song = self._make_clean()
        song.kind, song.sections, song.flags = "nan", None, []
        song.text = "" if self.rnd.random() < 0.8 else self.rnd.choice((" ", "\n", "  \n  "))
        song.language = ""
        return song

    def _junk_text(self, kind: str, text: str) -> Song:
        song = self._meta(self._pick_tag(), kind)
        song.title = title_from(
            self.rnd.choice(self.banks[song.tag if song.tag != "misc" else "pop"].hook), self.rnd
        )
        song.text = text
        return song

    def _make_placeholder(self) -> Song:
        return self._junk_text("placeholder", self.rnd.choice(B.PLACEHOLDERS))

    def _make_instrumental(self) -> Song:
        return self._junk_text("instrumental", self.rnd.choice(B.INSTRUMENTAL_TEXTS))

    def _make_study_guide(self) -> Song:
        song = self._junk_text("study_guide", B.STUDY_GUIDE)
        song.tag = "misc"
        song.artist = "Study Notes Collective"
        return song

    def _make_duplicate_id(self) -> Song:
        old = self.rnd.choice(self.recent)
        if self.rnd.random() < 0.5:  # the same row again
            return dataclasses.replace(old, kind="duplicate_id", flags=list(old.flags))
        next_id = self.next_id
        song = self._make_clean()
        self.next_id = next_id  # give back the id _make_clean took
        song.id, song.kind = old.id, "duplicate_id"
        return song

    def _make_duplicate_text(self) -> Song:
        """A recent song's lyrics under a new id and another artist, in other case, spacing and
        punctuation: one song, listed twice (stage chunks keeps one copy)."""
        rnd = self.rnd
        olds = [s for s in self.recent if s.kind == "clean" and s.sections]
        if not olds:
            return self._make_clean()
        old = rnd.choice(olds)
        song = self._meta(old.tag, "duplicate_text")
        if song.artist == old.artist:
            song.artist = old.artist + " & Friends"
        song.title, song.language = old.title, old.language
        lower = rnd.random() < 0.5

        def vary(line: str) -> str:
            line = line.replace(",", "").replace("!", "")
            return (line.lower() if lower else line.upper()) + (" " if rnd.random() < 0.2 else "")

        song.sections = [(h, [vary(x) for x in ls]) for h, ls in old.sections or []]
        song.flags = [f"copy_of:{old.id}"]
        return song

    def _make_malformed(self) -> Song:
        song = self._meta(self._pick_tag(), "malformed")
        song.language = ""
        title = title_from(self.rnd.choice(self.banks["pop"].hook), self.rnd).replace('"', "")
        title = title.replace(",", "")
        n = len(LAYOUTS[self.cfg.layout])
        if self.rnd.random() < 0.5:  # too many fields: pandas' C engine raises unless told to skip
            fields = [title, song.tag, song.artist, *(["x"] * (n - 4)), str(song.id), "extra field"]
            song.flags.append("extra_fields")
        else:  # too few: pandas pads them with NaN silently
            fields = [title, song.tag, str(song.id)]
            song.flags.append("missing_fields")
        song.raw_line = ",".join(f.replace(",", " ") for f in fields)
        return song

    def _foreign_line(self, lang: str) -> str:
        rnd = self.rnd
        words, cum = foreign_words(lang)
        if lang in B.NO_SPACE_LANGS:
            return "".join(rnd.choices(words, cum_weights=cum, k=5 + int(rnd.random() * 6)))
        line = " ".join(rnd.choices(words, cum_weights=cum, k=4 + int(rnd.random() * 5)))
        return line[:1].upper() + line[1:]

    def _foreign_pool(self, lang: str) -> list[str]:
        """Lines of one language, built on first use and refreshed like the genre pools."""
        pool = self._foreign.get(lang)
        if pool is None:
            pool = self._foreign[lang] = [self._foreign_line(lang) for _ in range(FOREIGN_POOL)]
        r = self.rnd.random
        for _ in range(2):
            pool[int(r() * FOREIGN_POOL)] = self._foreign_line(lang)
        return pool

    def _make_foreign(self) -> Song:
        rnd = self.rnd
        r = rnd.random
        u = r()
        lang = next(
            (n for n, e in zip(self.lang_names, self.lang_cum, strict=True) if u < e),
            self.lang_names[-1],
        )
        tag = self._pick_tag()
        if tag == "misc":
            tag = "pop"
        song = self._meta(tag, "foreign")
        song.language = lang
        pool = self._foreign_pool(lang)
        choices = rnd.choices
        verse_h, chorus_h, bridge_h = B.FOREIGN_HEADERS[lang]
        chorus = choices(pool, k=2) * (1 + (r() < 0.5))
        secs: list[tuple[str | None, list[str]]] = []
        lo, span = (8, 9) if tag == "rap" else (4, 5)
        for v in range(1, 3 + (r() < 0.3)):
            secs.append((verse_h.format(n=v), choices(pool, k=lo + int(r() * span))))
            secs.append((chorus_h, chorus))
        if r() < 0.3:
            secs.append((bridge_h, choices(pool, k=2 + int(r() * 3))))
            secs.append((chorus_h, chorus))
        song.sections = secs
        song.title = (
            " ".join(chorus[0].split()[:3]) if lang not in B.NO_SPACE_LANGS else chorus[0][:6]
        )
        return song

    def _make_translation(self) -> Song:
        song = self._make_clean(self.rnd.choice(("pop", "pop", "rap", "rb", "rock")))
        song.kind, song.flags = "translation", []
        original = self.rnd.choice(self.artists[song.tag])
        song.title = f"{original} - {song.title or 'Untitled'} (English Translation)"
        song.artist = "Genius English Translations"
        return song

    def _make_romanization(self) -> Song:
        rnd = self.rnd
        song = self._meta(rnd.choice(("pop", "pop", "rap", "rock")), "romanization")
        japanese = rnd.random() < 0.6
        song.language = "ja" if japanese else "ko"
        syll = B.ROMAJI_SYLLABLES if japanese else B.HANGUL_ROMAN_SYLLABLES

        def line() -> str:
            ws = ["".join(rnd.choices(syll, k=rnd.randint(1, 3))) for _ in range(rnd.randint(4, 8))]
            return " ".join(ws).capitalize()

        chorus = [line() for _ in range(4)]
        secs: list[tuple[str | None, list[str]]] = []
        for v in (1, 2):
            secs.append((f"[Verse {v}]", [line() for _ in range(rnd.randint(4, 8))]))
            secs.append(("[Chorus]", chorus))
        song.sections = secs
        original = rnd.choice(self.artists[song.tag])
        song.title = f"{original} - {' '.join(chorus[0].split()[:3])} (Romanized)"
        song.artist = "Genius Romanizations"
        return song
