"""Steering a song while it is sampled: a form of sections, choruses that come back, a rhyme
scheme and syllables per line (``python -m lyrics_gpt2.generate --form "verse chorus verse
chorus" --rhyme-scheme AABB --syllables 8``, and the server's /v1/songs).

The batched sampler (lyrics_gpt2.inference.sampler.Batch) calls a row's :class:`Steer` twice per step:
``before`` may mask that row's logits, ``after`` appends the drawn token, or other tokens in its
place; when the row's tokens changed by more than one appended token, the sampler prefills it
again (one forward pass over the song so far, batched with the other rows that need one).

- Form: the song opens with the first section's token; a stanza break (or a section token the
  model writes) ends a section and the next one's token is written in; end-of-song is masked
  until the last section is open, and the song ends at its end.
- Repeat (``copy``, the default): a chorus, hook or refrain that was written before is written
  again as the same tokens, whether the form or the model asks for it; ``rewrite`` lets the
  model write it afresh with the first one in its context.
- Rhyme scheme: at each line break, when the line's last word does not rhyme with the last
  word of the line its letter pairs it with, that word is replaced by the most likely word
  token (by the logits where the word began) that rhymes, judged by lyrics_gpt2.songcraft.rhyme
  (CMU dictionary, spelling fallback). With syllables too, candidates that keep the line within
  one syllable of its target come first.
- Syllables: line breaks are masked while the line is more than one syllable short of its
  target, and new words once it has reached it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lyrics_gpt2.songcraft.rhyme import last_word, rhyme_key, rhymes, spelling_key
from lyrics_gpt2.songcraft.sections import KINDS, REPEATING, TOKENS
from lyrics_gpt2.songcraft.syllables import line_syllables, word_syllables

REPEAT_MODES = ("copy", "rewrite")
_WORD_TOKEN = re.compile(r" [A-Za-z']{2,}")


@dataclass(frozen=True)
class Controls:
    """What a song is asked to look like; all off by default."""

    form: tuple[str, ...] = ()  # section kinds in order (lyrics_gpt2.songcraft.sections.KINDS)
    repeat_sections: str = "copy"  # copy | rewrite: a chorus that comes back
    rhyme_scheme: str = ""  # one letter per line of a stanza, repeating ("AABB")
    syllables: tuple[int, ...] = ()  # per line of a stanza, repeating

    @property
    def constrains(self) -> bool:
        return bool(self.form or self.rhyme_scheme or self.syllables)


def model_sections(tokenizer) -> dict[str, int]:
    """{kind: id} of the section tokens the tokenizer has (data made with ``--sections``)."""
    added = tokenizer.get_added_vocab()
    return {k: added[TOKENS[k]] for k in KINDS if TOKENS[k] in added}


class Vocab:
    """What steering needs to know of a tokenizer's tokens; built once per tokenizer."""

    def __init__(self, tokenizer):
        import torch

        size = len(tokenizer)
        self.texts = tokenizer.batch_decode(
            [[i] for i in range(size)], clean_up_tokenization_spaces=False
        )
        self.eos = tokenizer.eos_token_id
        self.section_ids = model_sections(tokenizer)
        self.kind_of = {i: k for k, i in self.section_ids.items()}
        special = set(tokenizer.all_special_ids)
        self.newlines = {
            i for i, t in enumerate(self.texts) if "\n" in t and not t.strip() and i not in special
        }
        self.newline_ids = torch.tensor(sorted(self.newlines), dtype=torch.long)
        self.stop_ids = torch.tensor(
            sorted({*self.newlines, self.eos, *self.section_ids.values()}), dtype=torch.long
        )
        starts = [i for i, t in enumerate(self.texts) if t[:1] == " " and t[1:2].isalpha()]
        self.word_start_ids = torch.tensor(starts, dtype=torch.long)
        ends = [i for i, t in enumerate(self.texts) if t.isalpha() and t.islower()]
        self.word_end_ids = torch.tensor(ends, dtype=torch.long)
        self.break_ids = tokenizer.encode("\n\n", add_special_tokens=False)
        self._rhyme_index: dict[str, list[int]] | None = None
        self._rhymable: list[int] | None = None

    def starts_word(self, token: int, at_line_start: bool) -> bool:
        text = self.texts[token]
        return (text[:1] == " " and text[1:2].isalpha()) or (at_line_start and text[:1].isalpha())

    def rhymable(self) -> list[int]:
        """Ids of whole-word tokens whose CMU rhyming part at least two other words share."""
        if self._rhymable is None:
            self.rhyming_tokens("")  # builds the index
            assert self._rhyme_index is not None
            ids: set[int] = set()
            for key, members in self._rhyme_index.items():
                distinct = {self.texts[i][1:].lower() for i in members}
                if not key.startswith("~") and len(distinct) >= 3:
                    ids.update(members)
            self._rhymable = sorted(ids)
        return self._rhymable

    def rhyming_tokens(self, target: str) -> list[int]:
        """Ids of whole-word tokens (" night") that rhyme with ``target``."""
        if self._rhyme_index is None:
            index: dict[str, list[int]] = {}
            for i, text in enumerate(self.texts):
                if _WORD_TOKEN.fullmatch(text):
                    word = text[1:].lower().strip("'")
                    for key in {*rhyme_key(word), "~" + spelling_key(word)}:
                        index.setdefault(key, []).append(i)
            self._rhyme_index = index
        found: set[int] = set()
        for key in {*rhyme_key(target), "~" + spelling_key(target)}:
            found.update(self._rhyme_index.get(key, ()))
        return sorted(i for i in found if rhymes(self.texts[i][1:].lower().strip("'"), target))


class Steer:
    """One row's steering state (see the module docstring)."""

    def __init__(self, controls: Controls, vocab: Vocab):
        self.c, self.v = controls, vocab
        self.kind: str | None = controls.form[0] if controls.form else None
        self.next_form = 1 if controls.form else 0
        self.body_start = 0  # index in row.new where the open section's lines begin
        self.bodies: dict[str, list[int]] = {}  # kind -> its first section's tokens
        self.line_start = 0
        self.line_no = 0  # line within the stanza
        self.stanza = 0
        self.targets: dict[tuple[int, int, str], str] = {}  # rhyme group -> its first word
        self.word_at: int | None = None  # index in row.new of the open line's last word
        self.word_logits = None  # the logits that word was drawn from
        self._logits = None
        self.copies = 0  # sections written again as copies
        self.rhyme_fixes = 0  # line ends replaced by a rhyming word
        self.after_copy = False  # a copied section just ended: the next stanza opens with a token

    # ------------------------------------------------------------------ before the draw
    def before(self, logits, row) -> None:
        """Mask what this row may not write next (``logits`` is its [V] row, changed in place)."""
        if self.c.rhyme_scheme:
            self._logits = logits.clone()
        if (len(row.new) == self.body_start and self.body_start > 0) or (
            not row.new and self.c.form
        ):  # a section's first token is a word, not a break or the end
            logits[self.v.stop_ids] = float("-inf")
        if self.c.form:
            if self.next_form < len(self.c.form):
                logits[self.v.eos] = float("-inf")
            if self.v.section_ids:
                logits[list(self.v.section_ids.values())] = float("-inf")
        if self.after_copy and self.v.section_ids:
            keep = logits[self.v.stop_ids].clone()
            logits.fill_(float("-inf"))
            logits[self.v.stop_ids] = keep
            logits[list(self.v.newlines)] = float("-inf")
            return
        if self.c.syllables:
            target = self.c.syllables[self.line_no % len(self.c.syllables)]
            line = self._text(row.new[self.line_start :])
            have = line_syllables(line)
            if have < target - 1:
                at_start = len(row.new) == self.line_start
                eos = logits[self.v.eos].item()
                logits[self.v.stop_ids] = float("-inf")
                if at_start and not (self.c.form and self.next_form < len(self.c.form)):
                    logits[self.v.eos] = eos  # a song may still end between lines
            elif have >= target:
                # Only the line break, or one piece that finishes a word just begun.
                keep = logits[self.v.newline_ids].clone()
                finish = None
                if self.word_at == len(row.new) - 1:
                    finish = logits[self.v.word_end_ids].clone()
                logits.fill_(float("-inf"))
                logits[self.v.newline_ids] = keep
                if finish is not None:
                    logits[self.v.word_end_ids] = finish

    # ------------------------------------------------------------------- after the draw
    def after(self, row, token: int) -> bool:
        """Append ``token`` (or what goes in its place) to ``row.new``; True when the row's
        tokens changed by more than that one token (the sampler then prefills it again)."""
        before = len(row.new)
        self.after_copy = False
        if token in self.v.kind_of:
            changed = self._section_token(row, token)
        elif token in self.v.newlines or token == self.v.eos:
            changed = self._line_end(row, token)
        else:
            if self.v.starts_word(token, self.line_start == len(row.new)):
                self.word_at, self.word_logits = len(row.new), self._logits
            row.new.append(token)
            changed = False
        return changed or len(row.new) != before + 1

    def _text(self, ids: list[int]) -> str:
        return "".join(self.v.texts[i] for i in ids)

    def _section_token(self, row, token: int) -> bool:
        """The model wrote a section token itself (no form): a repeat is copied."""
        text = self._text(row.new[-2:])
        if row.new and not text.endswith("\n\n"):
            # Training data has a blank line before every section token: the text then shows
            # the stanza break the token stands for.
            if row.new[-1] in self.v.newlines:
                row.new.pop()
            row.new.extend(self.v.break_ids)
        self._close_section(row)
        kind = self.v.kind_of[token]
        row.new.append(token)
        if self.c.repeat_sections == "copy" and kind in REPEATING and kind in self.bodies:
            row.new.extend(self.bodies[kind])
            self.copies += 1
            self.kind = None
            self._new_stanza(row)
            self.after_copy = True
            return True
        self.kind = kind
        self._new_stanza(row)
        return False

    def _line_end(self, row, token: int) -> bool:
        rewound = False
        line_ids = row.new[self.line_start :]
        if self.c.rhyme_scheme and line_ids:
            rewound = self._rhyme(row, line_ids)
        blank = not line_ids and token in self.v.newlines
        row.new.append(token)
        self.line_no += 1
        self.line_start, self.word_at = len(row.new), None
        if token == self.v.eos:
            self._close_section(row)
            if self.next_form < len(self.c.form):  # cut short: the form goes on
                row.new[-1:] = self.v.break_ids
                self._open_next(row)
                return True
            return rewound
        if blank or "\n\n" in self.v.texts[token]:
            self._close_section(row)
            self._new_stanza(row)
            if self.c.form:
                self._open_next(row)
        return rewound

    def _rhyme(self, row, line_ids: list[int]) -> bool:
        scheme = self.c.rhyme_scheme
        k = self.line_no
        group = (self.stanza, k // len(scheme), scheme[k % len(scheme)])
        word = last_word(self._text(line_ids))
        if word is None:
            return False
        target = self.targets.get(group)
        if target is None:
            # The first line of a pair: its last word must have a rhyme the model can write.
            changed = False
            if scheme[k % len(scheme) + 1 :].count(group[2]) and not self.v.rhyming_tokens(word):
                changed = self._replace_last_word(row, self.v.rhymable(), k)
                if changed:
                    word = self.v.texts[row.new[-1]][1:].lower().strip("'")
            self.targets[group] = word
            return changed
        if rhymes(word, target):
            return False
        return self._replace_last_word(row, self.v.rhyming_tokens(target), k)

    def _replace_last_word(self, row, picks: list[int], k: int) -> bool:
        """The line's last word becomes the most likely of ``picks`` (by the logits it was
        drawn from), those keeping the line within a syllable of its target first."""
        if not picks or self.word_at is None or self.word_logits is None:
            return False
        scores = self.word_logits[picks]
        if self.c.syllables:
            want = self.c.syllables[k % len(self.c.syllables)]
            rest = line_syllables(self._text(row.new[self.line_start : self.word_at]))
            fits = [
                abs(rest + word_syllables(self.v.texts[i][1:].lower().strip("'")) - want) <= 1
                for i in picks
            ]
            if any(fits):
                import torch

                scores = scores.masked_fill(~torch.tensor(fits), float("-inf"))
        best = picks[int(scores.argmax())]
        del row.new[self.word_at :]
        row.new.append(best)
        self.rhyme_fixes += 1
        return True

    def _close_section(self, row) -> None:
        if self.kind and self.kind not in self.bodies:
            body = row.new[self.body_start :]
            if body and body[-1] == self.v.eos:
                body = [*body[:-1], *self.v.break_ids]
            if any(t not in self.v.newlines for t in body):
                self.bodies[self.kind] = body

    def _new_stanza(self, row) -> None:
        self.stanza += 1
        self.line_no = 0
        self.line_start = self.body_start = len(row.new)
        self.word_at = None

    def _open_next(self, row) -> None:
        """Write the form's next section token (and a copy of a repeat); eos after the last."""
        while True:
            if self.next_form >= len(self.c.form):
                if row.new and row.new[-1] != self.v.eos:
                    row.new.append(self.v.eos)
                return
            kind = self.c.form[self.next_form]
            self.next_form += 1
            row.new.append(self.v.section_ids[kind])
            if self.c.repeat_sections == "copy" and kind in REPEATING and kind in self.bodies:
                row.new.extend(self.bodies[kind])
                self.copies += 1
                self.stanza += 1
                continue
            self.kind = kind
            self._new_stanza(row)
            return


# --- used by the sampler (lyrics_gpt2.inference.sampler) and the server ---------------------
_VOCABS: dict[int, Vocab] = {}


def steering_vocab(tokenizer, controls: Controls | None) -> Vocab | None:
    """The tokenizer's :class:`Vocab` when rows are steered (controls given, or a model with
    section tokens), built once per tokenizer; None leaves sampling exactly as it was."""
    if not (controls and controls.constrains) and not model_sections(tokenizer):
        return None
    return vocab_of(tokenizer)


def vocab_of(tokenizer) -> Vocab:
    """The tokenizer's :class:`Vocab`, built once (the server's editing routes use it too)."""
    key = id(tokenizer)
    if key not in _VOCABS:
        _VOCABS[key] = Vocab(tokenizer)
    return _VOCABS[key]


def with_opening(ids: list[int], opening: list[int], artist_id: int | None) -> list[int]:
    """The first section's token goes after the genre (and artist) token, before a prompt."""
    if not opening:
        return ids
    at = 1 if artist_id is None else 2
    return [*ids[:at], *opening, *ids[at:]]


def split_sections(tokenizer, row, eos_id: int, kind_of: dict[int, str]) -> list[dict]:
    """The song's sections in order, from its section tokens: [{"kind", "text"}]."""
    tokens = row.prompt[row.prefix :] + row.new
    if eos_id in tokens:
        tokens = tokens[: tokens.index(eos_id)]
    parts: list[tuple[str | None, list[int]]] = [(None, [])]
    for t in tokens:
        if t in kind_of:
            parts.append((kind_of[t], []))
        else:
            parts[-1][1].append(t)
    out = []
    for kind, ids in parts:
        text = tokenizer.decode(ids, skip_special_tokens=True).strip()
        # A stanza the model began without a section token is a section of its own.
        for i, stanza in enumerate(s.strip() for s in re.split(r"\n\s*\n", text)):
            if stanza:
                out.append({"kind": (kind if i == 0 else None) or "other", "text": stanza})
    return out
