"""The OpenAI request bodies the lyrics service takes (``/v1/completions``,
``/v1/chat/completions``), and the parameters it refuses rather than ignore.

Used by lyrics_gpt2/serve/openai.py (``python -m lyrics_gpt2.serve --model DIR``). Fields follow
OpenAI's API; ``top_k``, ``repetition_penalty`` and ``min_tokens`` are extra fields as vLLM takes
them. Anything else is refused with 400 naming the field: a client that sends ``logit_bias`` or
``presence_penalty`` gets told, never a silently different sample.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from lyrics_gpt2.serve.schemas import MAX_PROMPT_CHARS, MAX_SONGS, RANGES, Sampling

_D = Sampling()
Text = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)]
MAX_LOGPROBS = 20
MAX_STOPS = 4

OPENAI_RANGES = {
    **RANGES,
    **{
        "temperature": "a number in 0..100 (0 = greedy)",
        "top_k": "an integer >= -1 (0 or -1 = off)",
        "min_tokens": "an integer >= 0",
        "stop": f"a string or a list of at most {MAX_STOPS} non-empty strings",
        "logprobs": f"an integer in 0..{MAX_LOGPROBS} (completions) or true/false (chat)",
        "top_logprobs": f"an integer in 0..{MAX_LOGPROBS}",
        "echo": "true or false",
        "messages": "a list of {role, content} messages, the last from the user",
        "max_completion_tokens": "an integer >= 1",
        "stream_options": '{"include_usage": true or false}',
    },
}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_usage: bool = False


class _Common(BaseModel):
    """What completions and chat share."""

    model_config = ConfigDict(extra="forbid")
    model: str = Field("lyrics-gpt2", max_length=60)
    max_tokens: int | None = Field(None, ge=1)
    temperature: float = Field(_D.temperature, ge=0, le=100)
    top_p: float = Field(_D.top_p, gt=0, le=1)
    top_k: int = Field(_D.top_k, ge=-1)
    repetition_penalty: float = Field(_D.repetition_penalty, gt=0, le=100)
    min_tokens: int = Field(0, ge=0)
    n: int = Field(1, ge=1, le=MAX_SONGS)
    stream: bool = False
    stream_options: StreamOptions | None = None
    seed: int | None = Field(None, ge=0, lt=2**63)
    stop: str | list[str] | None = None
    user: str | None = Field(None, max_length=256)  # an end-user id for the caller's logs
    # Accepted only at values that change nothing (see refused()).
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[str, float] | None = None

    def stops(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return stops

    def sampling_fields(self) -> dict:
        """Sampling's settings; temperature 0 is greedy: the single best token (top-k 1)."""
        top_k = max(self.top_k, 0)
        if self.temperature == 0:
            return {"temperature": 1.0, "top_k": 1, "top_p": 1.0,
                    "repetition_penalty": self.repetition_penalty}  # fmt: skip
        return {"temperature": self.temperature, "top_k": top_k, "top_p": self.top_p,
                "repetition_penalty": self.repetition_penalty}  # fmt: skip


class CompletionRequest(_Common):
    prompt: Text | list[Text] = ""
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    best_of: int | None = Field(None, ge=1)
    suffix: str | None = None


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["text"]
    text: Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["system", "developer", "user", "assistant"]
    content: Text | list[ContentPart] = ""
    name: str | None = Field(None, max_length=64)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class ChatRequest(_Common):
    messages: list[ChatMessage] = Field(min_length=1, max_length=64)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)
    echo: bool = False  # vLLM's extra field: the reply starts with the last user message
    tools: list | None = None
    tool_choice: str | dict | None = None
    functions: list | None = None
    response_format: dict | None = None


def refused(body: _Common) -> tuple[str, str] | None:
    """(field, message) for the first parameter this server cannot honour, or None."""
    stops = body.stops()
    if len(stops) > MAX_STOPS or any(not s or len(s) > 200 for s in stops):
        return "stop", f"stop must be {RANGES['stop']} of up to 200 characters"
    if body.logit_bias:
        return "logit_bias", "logit_bias is not supported by this server; leave it out"
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(body, name):
            return name, (
                f"{name} is not supported by this server (only 0); use repetition_penalty, "
                "an extra field as vLLM takes it"
            )
    if isinstance(body, CompletionRequest):
        if body.suffix:
            return "suffix", "suffix is not supported by this server; leave it out"
        if body.best_of is not None and body.best_of != body.n:
            return "best_of", (
                f"best_of must equal n (this server returns every sample it draws; "
                f"got best_of={body.best_of}, n={body.n})"
            )
        if isinstance(body.prompt, list) and len(body.prompt) != 1:
            return "prompt", f"prompt must be one string (got a list of {len(body.prompt)})"
    if isinstance(body, ChatRequest):
        for name in ("tools", "tool_choice", "functions"):
            if getattr(body, name) and getattr(body, name) != "none":
                return name, f"{name} is not supported by this lyrics model; leave it out"
        kind = (body.response_format or {}).get("type", "text")
        if kind != "text":
            return "response_format", (
                f"response_format must be text (got {kind!r}); this model writes lyrics"
            )
        if body.top_logprobs is not None and not body.logprobs:
            return "top_logprobs", "top_logprobs needs logprobs: true"
    return None


def fields_of(path: str) -> list[str]:
    """The field names of the body ``path`` takes, for "not a field" errors."""
    return list((ChatRequest if "chat" in path else CompletionRequest).model_fields)
