"""The OpenAI surface of the lyrics service: ``GET /v1/models``, ``POST /v1/completions`` and
``POST /v1/chat/completions`` (plain and streamed), as the official ``openai`` client, LangChain,
LiteLLM and Open WebUI call them. Mounted by lyrics_gpt2/serve/app.py
(``python -m lyrics_gpt2.serve --model DIR``); docs/serving.md has the rules.

The genre: ``model`` naming one (``rap``, ``lyrics-gpt2-rap``), else a prompt that starts with
``[Genre: Rap]`` (completions) or a system message naming it (chat: ``rap``, ``genre: rap`` or
``[Genre: Rap]``). The prompt: completions' ``prompt``; chat's last user message. The reply is
the continuation (completions with ``echo``: the prompt, then the continuation).
"""

from __future__ import annotations

import re
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from lyrics_gpt2.serve.engine import Rejected
from lyrics_gpt2.serve.openai_schemas import ChatRequest, CompletionRequest, refused
from lyrics_gpt2.serve.responses import NO_BUFFER, Invalid, TextStream, sse, stream_error
from lyrics_gpt2.serve.schemas import GENRE_PREFIX

SYSTEM_GENRE = re.compile(
    r"^\s*(?:\[Genre:\s*([^\]]+)\]|genre\s*[:=]\s*(.+?)|([\w&' -]+?))\s*$", re.I
)


class Choice:
    """One row's reply as it grows: text cut before a stop string, token logprobs, why it ended.

    ``push`` returns the text that is safe to send now: a tail that could be the start of a
    stop string is held back until the next token settles it."""

    def __init__(self, svc, row, stops: list[str]):
        self.svc, self.row, self.stops = svc, row, stops
        self.stream = TextStream(svc.tokenizer, row.prompt, svc.drop)
        self.text, self.sent, self.tokens = "", 0, 0
        self.logprobs: list[tuple[str, float, list[tuple[str, float]], int]] = []
        self.reason: str | None = None

    def push(self, token: int, done: bool, lp) -> tuple[str, bool]:
        """(text to send now, this row just ended: by a stop string or by the sampler)."""
        self.tokens += 1
        start = len(self.text)
        if done:  # the whole reply decoded at once: no piece held back inside a character
            self.text = self.svc.decode([t for t in self.row.new if t not in self.svc.drop])
        else:
            self.text += self.stream.push(token)
        if lp is not None and token not in self.svc.drop:  # tokens spell the text
            dec = self.svc.token_text
            self.logprobs.append((dec(token), lp[0], [(dec(t), v) for t, v in lp[1]], start))
        for stop in self.stops:
            at = self.text.find(stop, max(0, start - len(stop) + 1))
            if at >= 0:
                self.text = self.text[:at]
                self.logprobs = [e for e in self.logprobs if e[3] < at]
                self.reason = "stop"
                return self._take(len(self.text)), True
        if done:
            ended = token == self.svc.engine.eos_id
            self.reason = "stop" if ended else "length"
            return self._take(len(self.text)), True
        hold = max((k for s in self.stops for k in range(1, len(s)) if self.text.endswith(s[:k])),
                   default=0)  # fmt: skip
        return self._take(len(self.text) - hold), False

    def _take(self, upto: int) -> str:
        piece, self.sent = self.text[self.sent : upto], max(self.sent, upto)
        return piece


def completion_logprobs(entries, offset: int = 0) -> dict:
    return {
        "tokens": [e[0] for e in entries],
        "token_logprobs": [e[1] for e in entries],
        "top_logprobs": [dict(e[2]) for e in entries],
        "text_offset": [offset + e[3] for e in entries],
    }


def chat_logprobs(entries) -> dict:
    def one(text, lp):
        return {"token": text, "logprob": lp, "bytes": list(text.encode("utf-8", "replace"))}

    return {"content": [{**one(t, lp), "top_logprobs": [one(*c) for c in top]}
                        for t, lp, top, _ in entries]}  # fmt: skip


def router(svc) -> APIRouter:
    api = APIRouter()

    def genre_of(model: str, prompt: str, system: list[str]):
        """(genre tag, response model id, prompt without a [Genre: X] prefix)."""
        name = model.strip().lower()
        name = "" if name in (svc.model_name.lower(), "lyrics-gpt2") else name
        name = name.removeprefix("lyrics-gpt2").strip("-: ")
        if name:
            genre = svc.genre(name, "model")
        elif m := GENRE_PREFIX.match(prompt):
            genre, prompt = svc.genre(m.group(1), "prompt"), prompt[m.end() :]
        else:
            found = [m for s in system if (m := SYSTEM_GENRE.match(s))]
            if not found:
                raise Invalid(
                    "model",
                    f"model must name a genre ({', '.join(svc.genres)}, or lyrics-gpt2-GENRE), "
                    "or the prompt start with [Genre: X], or (chat) a system message name it",
                )
            genre = svc.genre(next(g for g in found[-1].groups() if g), "messages")
        return genre, genre, prompt

    def check(body) -> None:
        if found := refused(body):
            raise Invalid(*found, status=400)

    async def start(request, body, genre: str, prompt: str, length: int | None, logprobs):
        seed = body.seed if body.seed is not None else secrets.randbits(31)
        cfg = {**body.sampling_fields(), "min_new_tokens": body.min_tokens}
        rows, _ = svc.rows(genre, prompt or None, body.n, seed, cfg, length, "max_tokens")
        job = await svc.run(request, rows, logprobs=logprobs)
        choices = [Choice(svc, r, body.stops()) for r in rows]
        return rows, job, choices

    async def replies(request, job, choices):
        """(index, text to send, ended) per sampled token, stopping rows at stop strings."""
        async for i, token, done, lp in svc.tokens(request, job):
            piece, ended = choices[i].push(token, done, lp)
            if ended and not done:
                svc.engine.finish(job, i)
            yield i, piece, ended

    def streamed(chunks):
        """A stream that ends with an error chunk and [DONE] if the server shuts down midway."""

        async def guarded():
            try:
                async for chunk in chunks:
                    yield chunk
            except Rejected as exc:
                yield sse(None, stream_error(exc))
                yield sse(None, "[DONE]")

        return StreamingResponse(guarded(), media_type="text/event-stream", headers=NO_BUFFER)

    def usage(rows, choices) -> dict:
        # As OpenAI counts: the prompt once (the hidden genre token is not the client's), and
        # every token each choice consumed.
        p = len(rows[0].prompt) - rows[0].prefix
        c = sum(ch.tokens for ch in choices)
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def events(request, body, job, head: dict, rows, choices, opening: list[dict], pieces):
        """The SSE answer of a streamed completion or chat: the ``opening`` choices, then the
        choices ``pieces(i, piece, ended)`` makes of each reply, the usage when asked, [DONE]."""

        async def chunks():
            extra = {"usage": None} if stream_usage(body) else {}
            for c in opening:
                yield sse(None, {**head, "choices": [c], **extra})
            async for i, piece, ended in replies(request, job, choices):
                for c in pieces(i, piece, ended):
                    yield sse(None, {**head, "choices": [c], **extra})
            if stream_usage(body):
                yield sse(None, {**head, "choices": [], "usage": usage(rows, choices)})
            yield sse(None, "[DONE]")

        return streamed(chunks())

    def stream_usage(body) -> bool:
        return bool(body.stream_options and body.stream_options.include_usage)

    @api.get("/v1/models")
    async def models():
        created = int(svc.started)
        entry = {"object": "model", "created": created, "owned_by": "lyrics-gpt2",
                 "root": svc.model_name, "parent": None, "max_model_len": svc.context}  # fmt: skip
        ids = [svc.model_name, *svc.genres]
        return {"object": "list", "data": [{"id": i, **entry} for i in ids]}

    @api.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        check(body)
        prompt = body.prompt if isinstance(body.prompt, str) else body.prompt[0]
        if body.echo and body.logprobs is not None:
            raise Invalid("echo", "echo with logprobs is not supported (no prompt logprobs)", 400)
        genre, model, text = genre_of(body.model, prompt, [])
        rows, job, choices = await start(request, body, genre, text, body.max_tokens, body.logprobs)
        head = {"id": f"cmpl-{secrets.token_hex(12)}", "object": "text_completion",
                "created": int(time.time()), "model": model}  # fmt: skip
        echo = text if body.echo else ""
        lp = body.logprobs is not None

        if body.stream:
            opening = [{"text": echo, "index": i, "logprobs": None, "finish_reason": None}
                       for i in range(len(rows)) if echo]  # fmt: skip

            def pieces(i: int, piece: str, ended: bool) -> list[dict]:
                if not (piece or ended):
                    return []
                ch = choices[i]
                return [{"text": piece, "index": i,
                         "logprobs": completion_logprobs(ch.logprobs[-1:]) if lp else None,
                         "finish_reason": ch.reason if ended else None}]  # fmt: skip

            return events(request, body, job, head, rows, choices, opening, pieces)
        async for _ in replies(request, job, choices):
            pass
        out = [
            {"text": echo + ch.text, "index": i, "finish_reason": ch.reason,
             "logprobs": completion_logprobs(ch.logprobs, len(echo)) if lp else None}
            for i, ch in enumerate(choices)
        ]  # fmt: skip
        return {**head, "choices": out, "usage": usage(rows, choices)}

    @api.post("/v1/chat/completions")
    async def chat(body: ChatRequest, request: Request):
        check(body)
        users = [m for m in body.messages if m.role == "user"]
        if body.messages[-1].role != "user":
            raise Invalid(
                "messages", "the last message must be the user's (the lyrics prompt)", 400
            )
        system = [m.text() for m in body.messages if m.role in ("system", "developer")]
        genre, model, text = genre_of(body.model, users[-1].text(), system)
        length = body.max_completion_tokens or body.max_tokens
        top = (body.top_logprobs or 0) if body.logprobs else None
        rows, job, choices = await start(request, body, genre, text, length, top)
        head = {"id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion",
                "created": int(time.time()), "model": model}  # fmt: skip
        echo = text if body.echo else ""

        if body.stream:
            head = {**head, "object": "chat.completion.chunk"}
            opening = [{"index": i, "delta": {"role": "assistant", "content": echo},
                        "logprobs": None, "finish_reason": None} for i in range(len(rows))]  # fmt: skip

            def pieces(i: int, piece: str, ended: bool) -> list[dict]:
                ch, out = choices[i], []
                if piece:
                    lps = chat_logprobs(ch.logprobs[-1:]) if top is not None else None
                    out.append({"index": i, "delta": {"content": piece}, "logprobs": lps,
                                "finish_reason": None})  # fmt: skip
                if ended:
                    out.append({"index": i, "delta": {}, "logprobs": None,
                                "finish_reason": ch.reason})  # fmt: skip
                return out

            return events(request, body, job, head, rows, choices, opening, pieces)
        async for _ in replies(request, job, choices):
            pass
        out = [
            {"index": i, "message": {"role": "assistant", "content": echo + ch.text},
             "logprobs": chat_logprobs(ch.logprobs) if top is not None else None,
             "finish_reason": ch.reason}
            for i, ch in enumerate(choices)
        ]  # fmt: skip
        return {**head, "choices": out, "usage": usage(rows, choices)}

    return api
