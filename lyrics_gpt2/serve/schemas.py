"""Request bodies of the lyrics service (the songs API; the OpenAI bodies are in
openai_schemas.py) and the checks that turn them into sampler rows.

Field limits live here once: pydantic refuses wrong types and ranges (422), and
:func:`error_message` words each refusal as "FIELD must be RANGE (got VALUE)".
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field

from lyrics_gpt2.inference.params import DEFAULT_MAX_LENGTH, Sampling, sampling_from

MAX_PROMPT_CHARS = 1000
MAX_SONGS = 8
_D = Sampling()

# The valid range of each field, as the error message states it.
RANGES = {
    "genre": "one of the model's genres (GET /v1/genres)",
    "model": "a genre name or lyrics-gpt2-GENRE",
    "n": f"an integer in 1..{MAX_SONGS}",
    "prompt": f"a string of at most {MAX_PROMPT_CHARS} characters",
    "temperature": "a number > 0",
    "top_k": "an integer >= 0 (0 = off)",
    "top_p": "a number in (0, 1]",
    "repetition_penalty": "a number > 0 (1.0 = off)",
    "max_length": "an integer >= 1",
    "max_tokens": "an integer >= 1",
    "seed": "an integer >= 0",
    "stream": "true or false",
}

_STRICT = ConfigDict(extra="forbid", strict=False)


class SongRequest(BaseModel):
    model_config = _STRICT
    genre: str = Field(max_length=40)
    n: int = Field(1, ge=1, le=MAX_SONGS)
    prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    temperature: float = Field(_D.temperature, gt=0, le=100)
    top_k: int = Field(_D.top_k, ge=0)
    top_p: float = Field(_D.top_p, gt=0, le=1)
    repetition_penalty: float = Field(_D.repetition_penalty, gt=0, le=100)
    max_length: int | None = Field(None, ge=1)
    seed: int = Field(42, ge=0, lt=2**63)

    def sampling(self, max_new_tokens: int) -> Sampling:
        return sampling_from(self, max_new_tokens)  # the command's flags and these fields alike


GENRE_PREFIX = re.compile(r"^\s*\[Genre:\s*([^\]]+)\]\s*")
CONTROL_TEXT = re.compile(r"\[Genre:[^\]]*\]|<\|endoftext\|>", re.IGNORECASE)


def default_max_length(room: int) -> int:
    return min(DEFAULT_MAX_LENGTH, room)


def error_message(error: dict, ranges: dict | None = None, fields=None) -> tuple[str, str]:
    """(field, message) for one pydantic error, naming the field and its valid range (from
    ``ranges``, default the songs API's; ``fields``: the body's valid field names)."""
    ranges = RANGES if ranges is None else ranges
    loc = [str(part) for part in error.get("loc", ()) if part != "body"]
    kind = error.get("type", "")
    if kind == "json_invalid":
        why = (error.get("ctx") or {}).get("error", "")
        return "body", f"body is not valid JSON ({why})" if why else "body is not valid JSON"
    if not loc:
        return "body", "body must be a JSON object"
    name = loc[0]
    if kind == "extra_forbidden":
        if len(loc) > 1:  # inside an OpenAI body (a message, stream_options)
            return name, f"{'.'.join(loc)} is not a field this server takes"
        fields = ", ".join(fields or SongRequest.model_fields)
        return name, f"{name[:60]} is not a field; valid fields: {fields}"
    if kind == "missing":
        return name, f"{name} is required: {ranges.get(name, 'see GET /v1/genres')}"
    got = error.get("input")
    if kind == "string_unicode" or (isinstance(got, str) and not _is_unicode(got)):
        return (
            name,
            f"{name} must be Unicode text (a lone surrogate such as \\ud800 is not); send whole characters",
        )
    shown = repr(got) if not isinstance(got, str) or len(got) < 40 else f"{len(got)} characters"
    shown = shown if len(shown) < 80 else f"a {type(got).__name__} of {len(shown)} characters"
    return name, f"{name} must be {ranges.get(name, error.get('msg', 'valid'))} (got {shown})"


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
