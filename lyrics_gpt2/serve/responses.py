"""What the service's routes answer with, shared by lyrics_gpt2/serve/app.py and openai.py:
OpenAI's error shape (every status), the route-level refusal, server-sent events and the text of
a row as it streams. Part of ``python -m lyrics_gpt2.serve``.
"""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse

from lyrics_gpt2.serve.engine import Rejected

NO_BUFFER = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class TextStream:
    """Decodes a row's tokens into new pieces of text as they come (special tokens left out),
    holding back a piece that ends inside a multi-byte character."""

    def __init__(self, tokenizer, ids: list[int], drop: set[int]):
        self.tokenizer, self.drop = tokenizer, drop
        self.ids = [t for t in ids if t not in drop]
        self.prefix, self.read = max(len(self.ids) - 5, 0), len(self.ids)

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, clean_up_tokenization_spaces=False)

    def push(self, token: int) -> str:
        if token in self.drop:
            return ""
        self.ids.append(token)
        before = self.decode(self.ids[self.prefix : self.read])
        now = self.decode(self.ids[self.prefix :])
        if len(now) <= len(before) or now.endswith("\ufffd"):
            return ""
        self.prefix, self.read = self.read, len(self.ids)
        return now[len(before) :]


MAX_MESSAGE = 1000  # characters of an error message: a hostile body never gets a huge answer
KINDS = {401: "authentication_error", 404: "not_found_error", 429: "rate_limit_error"}


def problem(
    status: int,
    message: str,
    param: str | None = None,
    retry_after: int | None = None,
    headers: dict | None = None,
):
    """OpenAI's error shape, every status: {"error": {message, type, param, code}}."""
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 15] + " … (shortened)"
    kind = KINDS.get(status, "invalid_request_error" if status < 500 else "server_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": None}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def stream_error(exc: Rejected) -> dict:
    """The error a stream ends with once its 200 is sent: OpenAI's shape, as vLLM sends it."""
    kind = "server_error" if exc.status >= 500 else "invalid_request_error"
    return {"error": {"message": exc.message, "type": kind, "param": None, "code": exc.status}}


def sse(event: str | None, data) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"{head}data: {payload}\n\n".encode()


class Invalid(Exception):
    def __init__(self, param: str, message: str, status: int = 422):
        super().__init__(message)
        self.param, self.message, self.status = param, message, status
