"""The song stream: :class:`Synthesizer` turns a :class:`SynthConfig` into :class:`Song` rows.

Clean English songs are built here (a skeleton of sections, lines from the genre's pools, then
the clean-row variations); misc texts and every junk kind come from
:class:`pipeline.synth.junk.JunkRows`. ``pipeline/synth/write.py`` lays the rows out as CSV.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Iterator
from random import Random

from pipeline.synth import banks as B
from pipeline.synth.config import (
    ARTISTS_PER_TAG,
    HOOK_POOL,
    RECENT_ROWS,
    SCRAPE_FLAGS,
    SHAPES,
    SKELETONS,
    VERSE_POOL,
    Song,
    SynthConfig,
)
from pipeline.synth.junk import JunkRows
from pipeline.synth.lines import GenreBank, cumulative, restyle, title_from

_NON_ASCII = re.compile(r"[^\x00-\x7f]")


class Synthesizer(JunkRows):
    """Generates :class:`Song` rows for a :class:`SynthConfig`, one at a time."""

    def __init__(self, config: SynthConfig) -> None:
        self.cfg = config
        self.rnd = Random(config.seed)
        self.banks = {tag: GenreBank(bank, self.rnd) for tag, bank in B.BANKS.items()}
        self.artists = {
            tag: [self._artist_name(tag) for _ in range(ARTISTS_PER_TAG)] for tag in B.BANKS
        }
        self.tags = list(config.tag_shares)
        self.tag_cum = cumulative(config.tag_shares.values())
        junk = [(k, v) for k, v in config.rates.items() if v > 0]
        self.kind_names = [k for k, _ in junk]
        self.kind_cum = cumulative([v for _, v in junk], normalise=False)
        self.junk_total = self.kind_cum[-1] if junk else 0.0
        self.lang_names = list(B.FOREIGN_LANG_SHARES)
        self.lang_cum = cumulative(B.FOREIGN_LANG_SHARES.values())
        self.flags = config.flags
        self.skeletons = {
            tag: [self._skeleton(tag) for _ in range(SKELETONS)] for tag in SHAPES
        }  # song structures, refreshed like the line pools
        self.recent: deque[Song] = deque(maxlen=RECENT_ROWS)
        self._foreign: dict[str, list[str]] = {}
        self.next_id = 1

    # -- the stream -------------------------------------------------------------------------
    def songs(self) -> Iterator[Song]:
        for _ in range(self.cfg.rows):
            song = self._song()
            if song.kind != "malformed":
                self.recent.append(song)
            yield song

    def _song(self) -> Song:
        rnd = self.rnd
        u = rnd.random()
        if u >= self.junk_total:
            return self._make_clean()
        kind = "clean"
        for name, edge in zip(self.kind_names, self.kind_cum, strict=True):
            if u < edge:
                kind = name
                break
        if kind == "duplicate_id" and not self.recent:
            kind = "clean"
        builder = getattr(self, f"_make_{kind}")
        return builder()

    def _new_id(self) -> int:
        # Genius ids have gaps: 5.9M rows span ids up to ~8M.
        song_id = self.next_id
        self.next_id += 1 + (self.rnd.random() < 0.35)
        return song_id

    def _pick_tag(self) -> str:
        u = self.rnd.random()
        for tag, edge in zip(self.tags, self.tag_cum, strict=True):
            if u < edge:
                return tag
        return self.tags[-1]

    def _meta(self, tag: str, kind: str) -> Song:
        """A row's id, artist, year, views and features; lyrics and title are filled in later."""
        rnd = self.rnd
        pool = self.artists[tag]
        artist = pool[int(len(pool) * rnd.random() ** 2)]  # a few artists have many songs
        if rnd.random() < 0.005:
            year = rnd.choice((1, 2, 2024, 2025, 2050, 2100))  # the dump's bogus years
        else:
            year = max(1930, 2022 - int(rnd.expovariate(1 / 9)))
        r = rnd.random
        # log-normal views (median ~250, a long tail into the millions); the sum of three
        # uniforms stands in for a normal draw at a fraction of normalvariate's cost
        views = int(math.exp(5.5 + 4.6 * (r() + r() + r() - 1.5)))
        features = "{}" if rnd.random() < 0.77 else self._features(tag)
        return Song(self._new_id(), kind, tag, None, artist, year, views, features)

    def _features(self, tag: str) -> str:
        """A Postgres array literal: {SWV}, {"Lil Wayne","Mannie Fresh"}, {"Cam\\\\'ro"}."""
        rnd = self.rnd
        pool = self.artists["rap" if tag == "rap" or rnd.random() < 0.3 else tag]
        names = []
        for _ in range(1 + (rnd.random() < 0.3) + (rnd.random() < 0.1)):
            name = rnd.choice(pool)
            if rnd.random() < 0.01:
                name += "\u200b"  # the dump has names with a zero-width space
            if re.search(r"[^A-Za-z0-9.]", name):
                name = '"' + name.replace("\\", "\\\\").replace("'", "\\\\'") + '"'
            names.append(name)
        return "{" + ",".join(names) + "}"

    def _artist_name(self, tag: str) -> str:
        rnd = self.rnd
        c = rnd.choice
        first = c(B.NAME_ACCENTED) if rnd.random() < 0.08 else c(B.NAME_FIRST)
        person = f"{first} {c(B.NAME_LAST)}"
        if tag == "rap":
            r = rnd.random()
            name = (f"{c(B.RAP_PREFIX)} {c(B.RAP_CORE)}" if r < 0.5
                    else f"{c(B.RAP_CORE)}{c(('', '', ' Gotti', ' Montana', 'z', ' 2x'))}" if r < 0.75
                    else person)  # fmt: skip
        elif tag == "pop":
            r = rnd.random()
            name = (
                c(B.POP_STAGE)
                if r < 0.3
                else f"{c(B.POP_STAGE)} {c(B.NAME_LAST)}"
                if r < 0.5
                else person
            )
        elif tag == "rock":
            r = rnd.random()
            name = (
                f"The {c(B.BAND_ADJ)} {c(B.BAND_NOUN)}"
                if r < 0.5
                else f"{c(B.BAND_ADJ)} {c(B.BAND_NOUN)}"
                if r < 0.8
                else person
            )
        elif tag == "country":
            name = f"The {c(B.NAME_LAST)} {c(B.COUNTRY_SUFFIX)}" if rnd.random() < 0.25 else person
        elif tag == "misc":
            name = c(B.MISC_AUTHORS) if rnd.random() < 0.5 else person
        else:
            name = person
        # The scraper stripped non-ASCII letters ("André" -> "Andr").
        return _NON_ASCII.sub("", name)

    # -- English songs ----------------------------------------------------------------------
    def _skeleton(self, tag: str) -> tuple:
        """A song's structure: chorus header, hook and chorus sizes, and its sections in order.

        Sections are (kind, header, lines): V verse-like lines from the pool, C the chorus, O an
        outro (the chorus's first lines), I an intro with ad-libs, X a header alone (credit,
        solo). Headers may hold {a} (the artist) and {b} (a second performer).
        """
        rnd = self.rnd
        r = rnd.random
        shape = SHAPES[tag]

        def pick(seq):
            return seq[int(r() * len(seq))]

        def between(lo: int, hi: int) -> int:
            return lo + int(r() * (hi - lo + 1))

        steps: list[tuple[str, str | None, int]] = []
        if r() < shape["producer"]:
            credit = pick(B.PRODUCER_CREDITS)
            steps.append(
                ("X", credit.format(p=pick(B.PRODUCER_NAMES), q=pick(B.PRODUCER_NAMES)), 0)
            )
        form = r()
        if form < shape["fragment"]:  # a short fragment: two short stanzas, no chorus
            first = pick(("[Intro]", "[Verse 1]", None))
            second = "[Verse 2]" if first == "[Verse 1]" else "[Verse 1]"
            return "[Chorus]", 2, 4, [("V", first, between(1, 3)), ("V", second, between(2, 5))]
        long = form > 1.0 - shape["long"]  # a long song: more and longer verses
        if r() < 0.04:  # a bare "Chorus:" line instead of [Chorus]
            chorus_header = "Chorus:"
        else:
            chorus_header = pick(B.HOOK_HEADERS if r() < shape["hook_name"] else B.CHORUS_HEADERS)
        if r() < shape["intro"]:
            steps.append(("I", pick(B.INTRO_HEADERS), between(1, 4)))
        verses = pick(shape["long_verses" if long else "verses"])
        lo, hi = shape["long_verse" if long else "verse"]
        for v in range(1, verses + 1):
            steps.append(
                ("V", f"[Verse {v}]" if r() < 0.75 else f"[Verse {v}: {{a}}]", between(lo, hi))
            )
            if r() < shape["pre"]:
                steps.append(("V", "[Pre-Chorus]", between(2, 4)))
            steps.append(("C", None, 0))
            if v == verses - 1 and r() < shape["bridge"]:
                steps.append(("V", "[Bridge]", between(2, 4)))
            if v == 1 and r() < shape["brk"]:
                steps.append(("X", pick(B.ROCK_BREAKS), 0))
        if verses == 1 or r() < 0.3:
            steps.append(("C", None, 0))
        if r() < shape["outro"]:
            steps.append(("O", pick(B.OUTRO_HEADERS), 0))
        return chorus_header, between(2, 3), between(*shape["chorus"]), steps

    def _sections(self, tag: str, song: Song) -> tuple[list[tuple[str | None, list[str]]], str]:
        """Stanzas of a song of a (non-misc) genre, and its hook line (source of the title).

        The structure comes from a pool of skeletons (most of a song's random choices), the lines
        from the genre's line pools; both pools are refreshed a little after every song.
        """
        r = self.rnd.random
        bank = self.banks[tag]
        skeletons = self.skeletons[tag]
        chorus_t, n_hooks, n_chorus, steps = skeletons[int(r() * SKELETONS)]
        hook_pool = bank.hook
        hooks = [hook_pool[int(r() * HOOK_POOL)] for _ in range(n_hooks)]
        chorus = [hooks[i % n_hooks] for i in range(n_chorus)]
        pool = bank.verse
        a = song.artist
        others = self.artists[tag]
        b = others[int(r() * len(others))]
        chorus_header = chorus_t.format(a=a, b=b) if "{" in chorus_t else chorus_t
        out: list[tuple[str | None, list[str]]] = []
        for kind, header, k in steps:
            if kind == "C":
                out.append((chorus_header, chorus))
                continue
            if header is not None and "{" in header:
                header = header.format(a=a, b=b)
            if kind == "V":
                out.append((header, [pool[int(r() * VERSE_POOL)] for _ in range(k)]))
            elif kind == "O":
                out.append((header, chorus[:2]))
            elif kind == "I":
                intro = [pool[int(r() * VERSE_POOL)] for _ in range(k)]
                if bank.adlibs:
                    intro.insert(0, " ".join(self.rnd.choices(bank.adlibs, k=1 + int(r() * 3))))
                out.append((header, intro))
            else:
                out.append((header, []))
        bank.refresh()
        if r() < 0.25:
            skeletons[int(r() * SKELETONS)] = self._skeleton(tag)
        return out, hooks[0]

    def _decorate(self, song: Song) -> None:
        """Apply the clean-row variations (curly quotes, accents, emoji, one foreign line)."""
        rnd = self.rnd
        f = self.flags
        secs = song.sections
        assert secs is not None
        r = rnd.random
        accent, emoji, foreign, curly, lower = (
            r() < f["accent"], r() < f["emoji"], r() < f["foreign_line"], r() < f["curly"], r() < f["lowercase"]
        )  # fmt: skip
        if not (accent or emoji or foreign or curly or lower):  # most songs
            return
        body = [s for s in secs if s[1]]
        if accent:
            lines = rnd.choice(body)[1]
            lines.insert(rnd.randint(0, len(lines)), rnd.choice(B.ACCENT_LINES))
            song.flags.append("accent")
        if emoji:
            for _ in range(rnd.randint(1, 3)):
                lines = rnd.choice(body)[1]
                i = rnd.randrange(len(lines))
                lines[i] = f"{lines[i]} {rnd.choice(B.EMOJI)}"
            song.flags.append("emoji")
        if foreign:
            lang = rnd.choice(sorted(B.FOREIGN_LINES))
            lines = rnd.choice(body)[1]
            lines.insert(rnd.randint(0, len(lines)), rnd.choice(B.FOREIGN_LINES[lang]))
            song.flags.append("foreign_line")
        # flagged only where there is an apostrophe to curl
        curly = curly and any("'" in x for _, ls in secs for x in ls)
        if curly or lower:
            if curly:
                song.flags.append("curly")
            if lower:
                song.flags.append("lowercase")
            song.sections = [(h, [restyle(x, curly, lower) for x in ls]) for h, ls in secs]

    def _title(self, song: Song, hook: str) -> None:
        rnd = self.rnd
        r = rnd.random()
        if r < self.flags["title_null"]:
            song.flags.append("title_null")
            return
        if r < self.flags["title_null"] + self.flags["title_na"]:
            song.title = rnd.choice(("NA", "null", "None", "nan", "N/A"))
            song.flags.append("title_na")
            return
        song.title = title_from(hook, rnd)

    def _make_clean(self, tag: str | None = None) -> Song:
        tag = tag or self._pick_tag()
        song = self._meta(tag, "clean")
        if tag == "misc":
            song.text = self._misc_text(self._misc_length())
            self._title(song, self.rnd.choice(self.banks["misc"].hook))
            return song
        song.sections, hook = self._sections(tag, song)
        self._decorate(song)
        self._title(song, hook)
        self._scrape_junk(song)
        self._sung_answer(song)
        return song

    def _scrape_junk(self, song: Song) -> None:
        """Page junk of Genius scrapes (``FLAG_RATES``' scrape kinds), at most one per song."""
        rnd = self.rnd
        x = rnd.random()
        kind = None
        for name in SCRAPE_FLAGS:
            x -= self.flags[name]
            if x < 0:
                kind = name
                break
        secs = song.sections
        body = [i for i, (_, ls) in enumerate(secs or []) if ls]
        if kind is None or not body:
            return
        S = B.SCRAPE
        title = song.title or "Untitled"
        ymal = S["you_might_also_like"]
        lines = secs[rnd.choice(body)][1]
        at = rnd.randint(1, len(lines))
        if kind == "ymal_line":
            lines.insert(at, ymal)
        elif kind == "ymal_glued":
            where = rnd.randrange(3)
            i = at - 1
            if where == 0:  # "...like a wink and a smileYou might also like"
                lines[i] = lines[i] + ymal
            elif where == 1:  # "You might also likeShe wants to dance"
                lines[i] = ymal + lines[i]
            else:  # "You might also like[Chorus]": glued before the next header
                j = rnd.choice(body)
                header = secs[j][0] or "[Chorus]"
                secs[j] = (ymal + header, secs[j][1])
        elif kind == "tickets":
            price = rnd.randint(19, 250)
            lines.insert(at, S["tickets"].format(artist=song.artist, price=price))
        elif kind == "lyrics_line":
            lines.insert(at, S["lyrics_line"])
        elif kind == "hyphen_header":
            j = rnd.choice(body)
            secs[j] = (rnd.choice(S["hyphen_headers"]), secs[j][1])
        elif kind == "embed":
            last = secs[body[-1]][1]
            last[-1] = last[-1] + rnd.choice(S["embeds"])
        elif kind == "contributors":
            first = S["contributors"].format(n=rnd.randint(2, 120), title=title)
            secs.insert(0, (None, [first]))
        elif kind == "translations":
            langs = rnd.sample(S["translation_languages"], rnd.randint(1, 4))
            secs.insert(0, (None, [S["translations_title"], *langs]))
        elif kind == "page_header":
            secs.insert(0, (rnd.choice(S["page_headers"]).format(title=title), []))
        elif kind == "unbalanced_header":
            headed = [i for i, (h, _) in enumerate(secs) if h and h.endswith("]")]
            if not headed:
                return
            j = rnd.choice(headed)
            h = secs[j][0]
            secs[j] = (h[:-1] + rnd.choice(S["unbalanced_closers"]), secs[j][1])
        elif kind == "foreign_intro":
            lang = rnd.choice(S["intro_languages"])
            secs.insert(0, ("[Intro]", [rnd.choice(B.FOREIGN_LINES[lang])]))
        elif kind in ("nested_header", "hyphen_name_header", "open_header"):
            j = rnd.choice(body)
            header = rnd.choice(S[kind + "s"]).format(a=song.artist)
            secs[j] = (header, secs[j][1])
        elif kind == "gap":  # "I told you ??? when the lights went down"
            words = lines[at - 1].split()
            cut = rnd.randint(1, len(words))
            lines[at - 1] = " ".join([*words[:cut], rnd.choice(S["gaps"]), *words[cut:]])
        song.flags.append(kind)

    def _sung_answer(self, song: Song) -> None:
        """Backing vocals echo a line's last words in parentheses, on every copy of that line."""
        rnd = self.rnd
        if rnd.random() >= self.flags["sung_answer"] or not song.sections:
            return
        lines = [line for _, ls in song.sections for line in ls if len(line.split()) >= 3]
        if not lines:
            return
        target = rnd.choice(lines)
        echo = " ".join(target.split()[-rnd.randint(2, 3) :]).strip(",.!?")
        for i, (header, ls) in enumerate(song.sections):
            song.sections[i] = (header, [f"{x} ({echo})" if x == target else x for x in ls])
        song.flags.append("sung_answer")
