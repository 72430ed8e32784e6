"""What bounds a client of the lyrics service: the request body (size, read time, JSON that
parses), the API key, and connections that never finish their headers.

:class:`Guard` is ASGI middleware (lyrics_gpt2/serve/app.py adds it); :class:`BoundedH11` is the
HTTP protocol ``python -m lyrics_gpt2.serve`` runs uvicorn with (``--header-timeout``).

A body is read here, chunk by chunk, before any route sees it: past ``max_body`` bytes the answer
is 413 at once (a Content-Length that says so is refused before a byte is read; a chunked body
when its running total passes the cap), so a client can make the server hold at most
``max_body`` bytes per request. A body that stops arriving gets 408 after ``read_timeout`` s.
JSON sent as text/plain or form-encoded (``curl -d``) is taken when it parses, and a body that
is not UTF-8 or nests too deeply gets the same one-line error shape, naming ``body``.
"""

from __future__ import annotations

import asyncio
import hmac
import json

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from lyrics_gpt2.serve.settings import DEFAULT_HEADER_TIMEOUT

MAX_DEPTH = 32  # our bodies nest 3 deep (chat content parts); json.loads recurses per level
JSON_LIKE = (b"", b"application/json", b"text/plain", b"application/x-www-form-urlencoded")


def _error(status: int, message: str, param: str | None = "body", headers=()) -> tuple:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param,
                      "code": None}}  # fmt: skip
    if status == 401:
        body["error"]["type"] = "authentication_error"
    data = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
            (b"connection", b"close"), *headers]  # fmt: skip
    return status, head, data


def json_problem(body: bytes) -> str | None:
    """Why ``body`` is not a JSON document this service reads, or None."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"body must be UTF-8 text (byte 0x{body[exc.start]:02x} at offset {exc.start})"
    depth = deepest = 0
    in_string = escaped = False
    brackets = text.count("[") + text.count("{")
    for ch in (
        text if brackets > MAX_DEPTH else ()
    ):  # nesting counted outside strings, before json.loads can recurse
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_DEPTH:
                return f"body nests deeper than {MAX_DEPTH} levels; send a flat JSON object"
        elif ch in "]}":
            depth -= 1
    try:
        json.loads(text)
    except ValueError as exc:
        return f"body is not valid JSON ({exc})"
    return None


class Guard:
    def __init__(self, app, api_key: str | None, max_body: int, read_timeout: float):
        self.app, self.api_key = app, api_key
        self.max_body, self.read_timeout = max_body, read_timeout

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method, root = scope["path"], scope["method"], scope.get("root_path", "")
        path = path[len(root) :] if root and path.startswith(root) else path  # behind a proxy
        if self.api_key and path.startswith("/v1/") and method != "OPTIONS":
            given = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            if not hmac.compare_digest(token.encode(), self.api_key.encode()):
                why = "a wrong API key" if token else "no API key"
                return await self._answer(send, *_error(
                    401, f"{why}: send Authorization: Bearer KEY (the server's --api-key)", None,
                    [(b"www-authenticate", b"Bearer")],
                ))  # fmt: skip
        if method not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"").strip()
        if length.isdigit() and int(length) > self.max_body:
            return await self._too_big(send, int(length))
        chunks, size = [], 0
        while True:
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except asyncio.TimeoutError:
                return await self._answer(send, *_error(
                    408, f"the body did not arrive within {self.read_timeout:g} s"))  # fmt: skip
            if message["type"] == "http.disconnect":
                return None
            size += len(message.get("body", b""))
            if size > self.max_body:
                return await self._too_big(send, size)
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind in JSON_LIKE:
            if why := json_problem(body):
                return await self._answer(send, *_error(400, why))
            if kind != b"application/json":  # JSON sent as text/plain or by plain `curl -d`
                rest = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                scope["headers"] = [*rest, (b"content-type", b"application/json")]
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)

    async def _too_big(self, send, size: int) -> None:
        await self._answer(send, *_error(
            413, f"body must be at most {self.max_body} bytes (got {size} or more); "
                 "the server's --max-body-bytes sets the cap"))  # fmt: skip

    @staticmethod
    async def _answer(send, status: int, headers: list, data: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})


class BoundedH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request line and headers have not all
    arrived ``header_timeout`` s after it opened (or after its last response): uvicorn only
    times out idle keep-alive connections, so a client sending half a header held its socket
    and buffers for good."""

    header_timeout = DEFAULT_HEADER_TIMEOUT

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._header_timer = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._expire)

    def _disarm(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _expire(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request's headers are all in
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)
