"""Request bodies of the page's editing routes (lyrics_gpt2/serve/fill.py, part of ``python -m
lyrics_gpt2.serve``): a song as sections of lines, each line maybe locked, and what to do with it
(fill lines, rank endings for one line, count syllables and group rhymes).

Sizes are bounded here once, so a hostile body is refused (422 naming the field, e.g.
``sections[2].lines[0].text``) before any work: at most MAX_SECTIONS sections of MAX_LINES lines
of MAX_LINE_CHARS characters, and MAX_FILL lines filled per request.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lyrics_gpt2.inference.params import MIN_TEMPERATURE, Sampling
from lyrics_gpt2.songcraft.rhyme import parse_scheme
from lyrics_gpt2.songcraft.sections import parse_form
from lyrics_gpt2.songcraft.syllables import parse_syllables

MAX_SECTIONS = 32
MAX_LINES = 40  # per section (a rap verse runs long)
MAX_LINE_CHARS = 200
MAX_FILL = 48  # lines one request may fill (each is sampled in turn, conditioned on the last)
MAX_ENDINGS = 12
_D = Sampling()
_STRICT = ConfigDict(extra="forbid")

FILL_RANGES = {
    "genre": "one of the model's genres (GET /v1/genres)",
    "sections": f"a list of 1..{MAX_SECTIONS} sections, each {{kind, lines}}",
    "kind": "a section kind: intro, verse, pre-chorus, chorus, hook, refrain, bridge, outro, other",
    "lines": f"a list of at most {MAX_LINES} lines, each {{text, locked}}",
    "text": f"a string of at most {MAX_LINE_CHARS} characters",
    "locked": "true or false",
    "fill": f"a list of at most {MAX_FILL} [section, line] positions",
    "at": "a [section, line] position",
    "n": f"an integer in 1..{MAX_ENDINGS}",
    "temperature": f"a number in {MIN_TEMPERATURE}..100",
    "top_k": "an integer >= 0 (0 = off)",
    "top_p": "a number in (0, 1]",
    "repetition_penalty": "a number in (0, 100] (1.0 = off)",
    "seed": "an integer >= 0",
    "repeat_sections": "copy or rewrite",
    "rhyme_scheme": "one letter per line of a stanza, e.g. AABB, ABAB, ABCB, AAAA",
    "syllables": 'a count per line, 1..40: 8, or "8,8,6,6", or [8, 8, 6, 6]',
}


class Line(BaseModel):
    model_config = _STRICT
    text: str = Field("", max_length=MAX_LINE_CHARS)
    locked: bool = False


class Section(BaseModel):
    model_config = _STRICT
    kind: str = Field("verse", max_length=20)
    lines: list[Line] = Field(default_factory=list, max_length=MAX_LINES)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v):
        return parse_form([v])[0]


class Song(BaseModel):
    """What every editing route gets: the song so far and how it is meant to be shaped."""

    model_config = _STRICT
    genre: str = Field(max_length=40)
    sections: list[Section] = Field(min_length=1, max_length=MAX_SECTIONS)
    repeat_sections: Literal["copy", "rewrite"] = "copy"
    rhyme_scheme: str | None = Field(None, max_length=64)
    syllables: int | str | list[int] | None = None

    @field_validator("rhyme_scheme")
    @classmethod
    def _scheme(cls, v):
        return parse_scheme(v) if v and v.strip() else None

    @field_validator("syllables")
    @classmethod
    def _syllables(cls, v):
        if v is None or v == "":
            return None
        return parse_syllables(",".join(map(str, v)) if isinstance(v, list) else str(v))


Position = tuple[int, int]


class FillRequest(Song):
    """POST /v1/fill: sample new text for the listed lines (default: every unlocked line)."""

    fill: list[Position] | None = Field(None, max_length=MAX_FILL)
    temperature: float = Field(_D.temperature, ge=MIN_TEMPERATURE, le=100)
    top_k: int = Field(_D.top_k, ge=0)
    top_p: float = Field(_D.top_p, gt=0, le=1)
    repetition_penalty: float = Field(_D.repetition_penalty, gt=0, le=100)
    seed: int = Field(42, ge=0, lt=2**63)


class EndingsRequest(Song):
    """POST /v1/endings: the model's likeliest last words for one line that rhyme with its
    partner in the rhyme scheme."""

    at: Position
    n: int = Field(5, ge=1, le=MAX_ENDINGS)


class AnalyzeRequest(BaseModel):
    """POST /v1/analyze: syllables per line and line-end rhyme groups (no model needed)."""

    model_config = _STRICT
    sections: list[list[str]] = Field(min_length=1, max_length=MAX_SECTIONS)

    @field_validator("sections")
    @classmethod
    def _sizes(cls, v):
        for i, lines in enumerate(v):
            if len(lines) > MAX_LINES:
                raise ValueError(f"sections[{i}] has {len(lines)} lines (at most {MAX_LINES})")
            for j, line in enumerate(lines):
                if len(line) > MAX_LINE_CHARS:
                    raise ValueError(
                        f"sections[{i}][{j}] has {len(line)} characters (at most {MAX_LINE_CHARS})"
                    )
        return v


def fill_error(error: dict) -> tuple[str, str]:
    """(field path, message) for one pydantic error of these bodies: the path names the exact
    place (``sections[2].lines[0].text``) and the message its valid range."""
    loc = [part for part in error.get("loc", ()) if part != "body"]
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "body", "body is not valid JSON"
    if not loc:
        return "body", "body must be a JSON object"
    path = str(loc[0])
    for part in loc[1:]:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    leaf = next((str(p) for p in reversed(loc) if isinstance(p, str)), str(loc[0]))
    if kind == "extra_forbidden":
        return path, f"{path[:80]} is not a field here"
    if kind == "missing":
        return path, f"{path} is required: {FILL_RANGES.get(leaf, 'see docs/serving.md')}"
    if kind == "value_error":  # our validators: their own words
        return path, f"{path}: {str(error.get('msg', '')).removeprefix('Value error, ')}"
    got = error.get("input")
    shown = repr(got) if not isinstance(got, str) or len(got) < 40 else f"{len(got)} characters"
    shown = shown if len(shown) < 80 else f"a {type(got).__name__} of {len(shown)} characters"
    return path, f"{path} must be {FILL_RANGES.get(leaf, error.get('msg', 'valid'))} (got {shown})"
