"""The page's editing routes (part of ``python -m lyrics_gpt2.serve``; the page is static/):

- ``POST /v1/fill``: sample new text for some lines of a song (default: every unlocked line),
  each conditioned on the song before it, one line at a time in song order, with the rhyme
  scheme and syllable targets kept by the generator's own steering (songcraft.control.Steer):
  a filled line's last word rhymes with its partner line, locked or just filled, before or after
  it. In ``copy`` mode a chorus (hook, refrain) that comes back is one text: its copies follow
  the first.
- ``POST /v1/endings``: for one line, the model's likeliest last words (by its logits after the
  song so far and the line's other words) that rhyme with the line's partner
  (songcraft.rhyme), so the page can offer endings that fit both the song and the rhyme.
- ``POST /v1/analyze``: syllables per line and line-end rhyme groups (songcraft.syllables and
  songcraft.rhyme, no model), so the page counts and colours as generation and the report judge.

GPT-2 reads left to right: text after a line reaches it only through its rhyme partner and its
syllable target, not as context.
"""

from __future__ import annotations

import asyncio
import re

from fastapi import APIRouter, Request

from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import control_tokens, row_generator
from lyrics_gpt2.serve.fill_schemas import (
    MAX_FILL,
    AnalyzeRequest,
    EndingsRequest,
    FillRequest,
    Song,
)
from lyrics_gpt2.serve.responses import Invalid, problem
from lyrics_gpt2.songcraft.control import Controls, Steer, vocab_of
from lyrics_gpt2.songcraft.rhyme import last_word, rhymes, scheme_groups
from lyrics_gpt2.songcraft.sections import REPEATING
from lyrics_gpt2.songcraft.syllables import line_syllables, word_syllables

LINE_TOKENS = 32  # most tokens one filled line may take; it is ended with a line break then
_WORD_TOKEN = re.compile(r" [A-Za-z']{2,}")
_LAST = re.compile(r"[A-Za-z0-9']+(?=[^A-Za-z0-9']*$)")


class LineSteer(Steer):
    """Steer for one line: the song's steering (rhyme with the partner's word, syllables) with
    the line's place in its stanza, no end of song or section token, and the row ended (its
    line break made end-of-song) as soon as the line is."""

    def __init__(self, controls: Controls, vocab, line_no: int, target: str | None):
        super().__init__(controls, vocab)
        self.line_no = line_no
        scheme = controls.rhyme_scheme
        if scheme and target:
            self.targets[(0, line_no // len(scheme), scheme[line_no % len(scheme)])] = target

    def before(self, logits, row) -> None:
        super().before(logits, row)
        logits[self.v.eos] = float("-inf")
        if self.v.section_ids:
            logits[list(self.v.section_ids.values())] = float("-inf")
        if len(row.new) >= row.cfg.max_new_tokens - 1:  # out of room: the line ends here
            keep = logits[self.v.newline_ids].clone()
            logits.fill_(float("-inf"))
            logits[self.v.newline_ids] = keep
        elif not any(c.isalpha() for c in self._text(row.new)):
            logits[self.v.stop_ids] = float("-inf")  # a line has words

    def after(self, row, token: int) -> bool:
        changed = super().after(row, token)
        if row.new and row.new[-1] in self.v.newlines:
            row.new[-1] = self.v.eos
        return changed


class Peek:
    """A row control that keeps the logits of the row's next token and ends the row."""

    def __init__(self, eos: int):
        self.eos, self.logits = eos, None

    def before(self, logits, row) -> None:
        self.logits = logits.clone()

    def after(self, row, token: int) -> bool:
        row.new.append(self.eos)
        return False


def masters(song: Song) -> list[int]:
    """Per section, the section whose text it shows: in copy mode a repeating section (chorus,
    hook, refrain) after the first of its kind shows the first; else itself."""
    first: dict[str, int] = {}
    out = []
    for i, sec in enumerate(song.sections):
        if song.repeat_sections == "copy" and sec.kind in REPEATING:
            out.append(first.setdefault(sec.kind, i))
        else:
            out.append(i)
    return out


def partner(song: Song, s: int, line: int, settled) -> str | None:
    """The last word of the nearest other line of the same rhyme group in section ``s`` (before
    the line first, then after) whose text is settled (locked, kept or already filled)."""
    scheme = song.rhyme_scheme
    lines = song.sections[s].lines
    if not scheme:
        return None
    groups = scheme_groups(len(lines), scheme)
    near = sorted((j for j in range(len(lines)) if j != line and groups[j] == groups[line]),
                  key=lambda j: (j > line, abs(j - line)))  # fmt: skip
    for j in near:
        word = last_word(lines[j].text)
        if word and settled(s, j):
            return word
    return None


def router(svc) -> APIRouter:
    api = APIRouter()
    tok = svc.tokenizer
    markers = control_tokens(tok)

    def encode(text: str) -> list[int]:
        return tok(text, add_special_tokens=False)["input_ids"] if text else []

    def check(song: Song) -> str:
        genre = svc.genre(song.genre)
        for i, sec in enumerate(song.sections):
            for j, line in enumerate(sec.lines):
                inside = [m for m in markers if m in line.text]
                if inside:
                    raise Invalid(f"sections[{i}].lines[{j}].text",
                                  f"sections[{i}].lines[{j}].text holds control-token text "
                                  f"{inside[0]!r}; write lyrics only")  # fmt: skip
                if "\n" in line.text or "\r" in line.text:
                    raise Invalid(f"sections[{i}].lines[{j}].text",
                                  f"sections[{i}].lines[{j}].text must be one line")  # fmt: skip
        return genre

    def position(song: Song, at, param: str) -> tuple[int, int]:
        s, j = at
        if not 0 <= s < len(song.sections):
            raise Invalid(param, f"{param}: section {s} is not in 0..{len(song.sections) - 1}")
        n = len(song.sections[s].lines)
        if not 0 <= j < n:
            raise Invalid(param, f"{param}: line {j} is not in 0..{n - 1} of section {s}")
        return s, j

    def context(genre: str, song: Song, s: int, line: int, stem: str = "") -> list[int]:
        """The song before line ``line`` of section ``s`` as the model was trained on it (genre
        token, section tokens when the model has them, stanzas apart by a blank line), cut to
        the model's window less a line's room (genre and section token kept)."""
        kinds = vocab_of(tok).section_ids
        ids = [svc.genres[genre]]
        for i, sec in enumerate(song.sections[: s + 1]):
            lines = [x.text.strip() for x in sec.lines[: line if i == s else None]]
            lines = [x for x in lines if x]
            if kinds:
                ids.append(kinds[sec.kind])
            text = "\n".join(lines)
            if i < s:
                text += "\n\n" if lines else ""
            elif lines:
                text += "\n"
            ids += encode(text + stem)
        keep = svc.context - LINE_TOKENS - 2
        if len(ids) > keep + 1:
            head = [ids[0], kinds[song.sections[s].kind]] if kinds else [ids[0]]
            ids = head + ids[-(keep - len(head) + 1) :]
        return ids

    async def run_row(request: Request, row: Row) -> bool:
        job = await svc.run(request, [row])
        async for _ in svc.tokens(request, job):
            pass
        return row.done

    @api.post("/v1/fill")
    async def fill(body: FillRequest, request: Request):
        genre = check(body)
        owner = masters(body)
        for i, sec in enumerate(body.sections):  # a line locked in any copy is locked
            for j, line in enumerate(sec.lines):
                m = body.sections[owner[i]].lines
                if owner[i] != i and j < len(m):
                    m[j].locked = m[j].locked or line.locked
        if body.fill is None:
            wanted = [(i, j) for i, sec in enumerate(body.sections) if owner[i] == i
                      for j, line in enumerate(sec.lines) if not line.locked]  # fmt: skip
            if len(wanted) > MAX_FILL:
                raise Invalid(
                    "fill", f"fill: {len(wanted)} unlocked lines; list at most {MAX_FILL} in fill"
                )
        else:
            wanted = []
            for k, at in enumerate(body.fill):
                s, j = position(body, at, f"fill[{k}]")
                s = owner[s]
                if j >= len(body.sections[s].lines):
                    raise Invalid(f"fill[{k}]", f"fill[{k}]: the copied section has no line {j}")
                if body.sections[s].lines[j].locked:
                    raise Invalid(f"fill[{k}]", f"fill[{k}]: line {j} of section {s} is locked")
                wanted.append((s, j))
        wanted = sorted(set(wanted))
        pending = set(wanted)
        controls = Controls((), body.repeat_sections, body.rhyme_scheme or "",
                            tuple(body.syllables or ()))  # fmt: skip
        cfg = {k: getattr(body, k) for k in ("temperature", "top_k", "top_p", "repetition_penalty")}
        vocab = vocab_of(tok)
        filled = []
        for k, (s, j) in enumerate(wanted):
            target = partner(body, s, j, lambda a, b: (a, b) not in pending)
            steer = LineSteer(controls, vocab, j, target)
            row = Row(context(genre, body, s, j), Sampling(max_new_tokens=LINE_TOKENS, **cfg),
                      row_generator(body.seed, k), control=steer)  # fmt: skip
            if not await run_row(request, row):
                return problem(499, "client closed the request")
            ids = [t for t in row.new if t != vocab.eos and t not in vocab.kind_of]
            text = " ".join(svc.decode(ids).split())
            body.sections[s].lines[j].text = text
            pending.discard((s, j))
            filled.append({"section": s, "line": j, "text": text, "rhymes_with": target})
        for i, sec in enumerate(body.sections):  # copies show their first
            if owner[i] != i:
                sec.lines = [line.model_copy() for line in body.sections[owner[i]].lines]
        settings = {"genre": genre, **cfg, "seed": body.seed,
                    "rhyme_scheme": body.rhyme_scheme, "syllables": body.syllables,
                    "repeat_sections": body.repeat_sections}  # fmt: skip
        return {"sections": [sec.model_dump() for sec in body.sections], "filled": filled,
                "settings": settings}  # fmt: skip

    @api.post("/v1/endings")
    async def endings(body: EndingsRequest, request: Request):
        genre = check(body)
        s, j = position(body, body.at, "at")
        text = body.sections[s].lines[j].text.rstrip()
        found = _LAST.search(text)
        if not found:
            raise Invalid("at", f"at: line {j} of section {s} has no word to end on")
        stem, current = text[: found.start()].rstrip(), found.group(0).lower().strip("'")
        target = partner(body, s, j, lambda a, b: True)
        vocab = vocab_of(tok)
        peek = Peek(vocab.eos)
        ids = context(genre, body, s, j, stem)
        row = Row(ids, Sampling(max_new_tokens=1), row_generator(0, 0), control=peek)
        if not await run_row(request, row):
            return problem(499, "client closed the request")
        want = body.syllables[j % len(body.syllables)] if body.syllables else None
        # The rhyme index is built once per tokenizer (a second on GPT-2's): off the event loop.
        out = await asyncio.to_thread(
            rank_endings, vocab, peek.logits, stem, {current, target}, target, want, body.n
        )
        return {"at": [s, j], "partner": target, "endings": out}

    @api.post("/v1/analyze")
    def analyze(body: AnalyzeRequest):  # plain def: FastAPI runs it off the event loop
        return analysis(body.sections)

    return api


def rank_endings(vocab, logits, stem: str, skip: set, target: str | None, want: int | None,
                 n: int) -> list[dict]:  # fmt: skip
    """The ``n`` likeliest whole-word tokens by ``logits`` that rhyme with ``target`` (any word
    when None), those keeping the line within a syllable of ``want`` first."""
    if target:
        picks = vocab.rhyming_tokens(target)
    else:
        picks = [i for i in vocab.word_start_ids.tolist() if _WORD_TOKEN.fullmatch(vocab.texts[i])]
    scores = logits[picks].tolist() if picks else []
    stem_syl = line_syllables(stem)
    fits, rest = [], []
    seen = set(skip)
    for _, i in sorted(zip(scores, picks, strict=True), reverse=True):
        word = vocab.texts[i][1:].lower().strip("'")
        if word in seen:
            continue
        seen.add(word)
        syl = stem_syl + word_syllables(word)
        item = {"word": word, "text": f"{stem} {word}".strip(), "syllables": syl,
                "rhymes": bool(target) and rhymes(word, target)}  # fmt: skip
        (fits if want is None or abs(syl - want) <= 1 else rest).append(item)
        if len(fits) >= n:
            break
    return (fits + rest)[:n]


def analysis(sections: list[list[str]]) -> dict:
    """Syllables and last word per line; lines whose last words rhyme share a group number,
    song-wide; a line whose word rhymes with no other has none (a word never rhymes with itself,
    so a chorus copy is no rhyme of the chorus)."""
    groups: list[list[str]] = []
    where: list[list[int | None]] = []
    for lines in sections:
        row = []
        for line in lines:
            word = last_word(line)
            g = None
            if word:
                g = next((k for k, members in enumerate(groups)
                          if any(rhymes(w, word) for w in members)), None)  # fmt: skip
                if g is None:
                    groups.append([])
                    g = len(groups) - 1
                groups[g].append(word)
            row.append(g)
        where.append(row)
    shared = {g for g, members in enumerate(groups) if len(set(members)) > 1}
    number = {g: k for k, g in enumerate(sorted(shared))}
    return {
        "sections": [
            [
                {
                    "syllables": line_syllables(line),
                    "word": last_word(line),
                    "rhyme": number.get(g) if g is not None else None,
                }
                for line, g in zip(lines, row, strict=True)
            ]
            for lines, row in zip(sections, where, strict=True)
        ],
        "groups": len(number),
    }
