"""The lyrics service's routes: the page, the songs API (JSON and server-sent events), the OpenAI
completions shape, health and metrics. ``create_app(engine)`` builds it; ``python -m
lyrics_gpt2.serve`` (lyrics_gpt2/serve/__main__.py) loads a model and runs it under uvicorn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST

from lyrics_gpt2.genres import model_genres, normalize_genre
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import prompt_ids, row_generator, song_text
from lyrics_gpt2.serve.engine import Engine, Job, Rejected
from lyrics_gpt2.serve.prometheus import Metrics, RequestMetrics
from lyrics_gpt2.serve.schemas import (
    CONTROL_TEXT,
    GENRE_PREFIX,
    MAX_SONGS,
    CompletionRequest,
    SongRequest,
    default_max_length,
    error_message,
)

STATIC = Path(__file__).resolve().parent / "static"


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


def problem(status: int, message: str, param: str | None = None, retry_after: int | None = None):
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    kind = "invalid_request_error" if status < 429 else "server_busy"
    body = {"error": {"message": message, "type": kind, "param": param}}
    return JSONResponse(body, status_code=status, headers=headers)


def sse(event: str | None, data) -> bytes:
    head = f"event: {event}\n" if event else ""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"{head}data: {payload}\n\n".encode()


class Invalid(Exception):
    def __init__(self, param: str, message: str):
        super().__init__(message)
        self.param, self.message = param, message


class Service:
    """What the routes share: the engine, the tokenizer's genres and the model's context."""

    def __init__(self, engine: Engine, model_name: str, queue_timeout: float, metrics: Metrics):
        self.engine, self.model_name, self.metrics = engine, model_name, metrics
        self.queue_timeout = queue_timeout
        tok = self.tokenizer = engine.tokenizer
        self.genres = model_genres(tok)
        self.drop = set(tok.all_special_ids) | set(self.genres.values())
        config = engine.model.config
        self.context = getattr(config, "n_positions", None) or config.max_position_embeddings

    def genre(self, name: str, param: str = "genre") -> str:
        tag = name.strip().lower()
        tag = tag if tag in self.genres else normalize_genre(tag) or tag
        if tag not in self.genres:
            raise Invalid(param, f"{param} must be one of {', '.join(self.genres)} (got {name!r})")
        return tag

    def rows(self, genre: str, prompt: str | None, n: int, seed: int, cfg: dict, max_length):
        """One sampler row per song, checked as the generate command checks its flags."""
        if prompt and CONTROL_TEXT.search(prompt):
            raise Invalid(
                "prompt", "prompt must not contain control tokens ([Genre: X], <|endoftext|>)"
            )
        if n > self.engine.max_batch:
            raise Invalid("n", f"n must be an integer in 1..{self.engine.max_batch} (got {n})")
        ids = prompt_ids(self.tokenizer, self.genres[genre], prompt)
        room = self.context - len(ids)
        if room < 1:
            raise Invalid(
                "prompt", f"prompt must be under {self.context - 1} tokens (got {len(ids) - 1})"
            )
        if max_length is not None and max_length > room:
            raise Invalid(
                "max_length",
                f"max_length must be an integer in 1..{room} (the model sees {self.context} "
                f"tokens and the prompt takes {len(ids)}; got {max_length})",
            )
        sampling = Sampling(max_new_tokens=max_length or default_max_length(room), **cfg)
        return [Row(list(ids), sampling, row_generator(seed, i)) for i in range(n)], sampling

    async def run(self, request: Request, rows: list[Row]) -> Job:
        """Queue the rows and wait until they joined the batch (429 / 503 otherwise)."""
        job = self.engine.submit(rows)
        try:
            await job.admitted(self.queue_timeout)
        except BaseException:
            self.engine.cancel(job)
            raise
        return job

    async def tokens(self, request: Request, job: Job):
        """The job's tokens; cancels the job when the client goes away or the caller stops."""
        watch = asyncio.create_task(self._watch(request, job))
        first = True
        try:
            async for item in job.tokens():
                if first:
                    self.metrics.first_token.observe(time.perf_counter() - job.submitted)
                    first = False
                yield item
        finally:
            watch.cancel()
            if not all(row.done for row in job.rows):
                self.engine.cancel(job)

    async def _watch(self, request: Request, job: Job) -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(0.25)
        self.engine.cancel(job)


def create_app(
    engine: Engine, *, model_name: str = "lyrics-gpt2", queue_timeout: float = 30.0
) -> FastAPI:
    metrics = engine.metrics or Metrics()
    engine.metrics = metrics

    @contextlib.asynccontextmanager
    async def lifespan(app):
        engine.start()
        yield
        engine.stop()

    app = FastAPI(title="lyrics-gpt2", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    svc = app.state.service = Service(engine, model_name, queue_timeout, metrics)

    @app.exception_handler(RequestValidationError)
    async def bad_body(request, exc: RequestValidationError):
        found = [error_message(e) for e in exc.errors()]
        status = 400 if found and found[0][0] == "body" else 422
        return problem(status, "; ".join(m for _, m in found), found[0][0] if found else None)

    @app.exception_handler(Invalid)
    async def invalid(request, exc: Invalid):
        return problem(422, exc.message, exc.param)

    @app.exception_handler(Rejected)
    async def rejected(request, exc: Rejected):
        return problem(exc.status, exc.message, retry_after=exc.retry_after)

    @app.exception_handler(Exception)
    async def crashed(request, exc: Exception):  # never a traceback in a response
        return problem(500, f"internal error ({type(exc).__name__}); the server keeps running")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(STATIC / "index.html")

    @app.get("/health")
    async def health():
        alive = engine.thread is not None and engine.thread.is_alive()
        body = {"status": "ok" if alive else "starting", "model": model_name}
        return JSONResponse(body, status_code=200 if alive else 503)

    @app.get("/metrics")
    async def metrics_text():
        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/v1/genres")
    async def genres():
        d = Sampling()
        return {
            "genres": [
                {"tag": g, "token": svc.tokenizer.convert_ids_to_tokens(i)}
                for g, i in svc.genres.items()
            ],
            "defaults": {
                "temperature": d.temperature,
                "top_k": d.top_k,
                "top_p": d.top_p,
                "repetition_penalty": d.repetition_penalty,
                "max_length": default_max_length(svc.context - 1),
                "seed": 42,
            },
            "limits": {"max_length": svc.context - 1, "n": min(MAX_SONGS, engine.max_batch)},
        }

    def song_rows(body: SongRequest):
        genre = svc.genre(body.genre)
        cfg = {k: getattr(body, k) for k in ("temperature", "top_k", "top_p", "repetition_penalty")}
        rows, sampling = svc.rows(genre, body.prompt, body.n, body.seed, cfg, body.max_length)
        settings = {"genre": genre, "n": body.n, "prompt": body.prompt, **cfg, "seed": body.seed}
        return genre, rows, {**settings, "max_length": sampling.max_new_tokens}

    def song_json(genre: str, i: int, row: Row, seed: int) -> dict:
        text, tokens, ended = song_text(svc.tokenizer, row, engine.eos_id, svc.drop)
        return {
            "genre": genre,
            "index": i,
            "seed": seed,
            "lyrics": text,
            "ended": ended,
            "tokens": tokens,
        }

    @app.post("/v1/songs")
    async def songs(body: SongRequest, request: Request):
        genre, rows, settings = song_rows(body)
        job = await svc.run(request, rows)
        async for _ in svc.tokens(request, job):
            pass
        if not all(r.done for r in rows):
            return problem(499, "client closed the request")
        return {
            "songs": [song_json(genre, i, r, body.seed) for i, r in enumerate(rows)],
            "settings": settings,
        }

    @app.post("/v1/songs/stream")
    async def songs_stream(body: SongRequest, request: Request):
        genre, rows, settings = song_rows(body)
        job = await svc.run(request, rows)
        streams = [TextStream(svc.tokenizer, r.prompt, svc.drop) for r in rows]

        async def events():
            yield sse("settings", settings)
            for i, s in enumerate(streams):
                if s.ids:
                    yield sse("text", {"index": i, "text": s.decode(s.ids)})
            async for i, token, done in svc.tokens(request, job):
                if piece := streams[i].push(token):
                    yield sse("text", {"index": i, "text": piece})
                if done:
                    yield sse("song", song_json(genre, i, rows[i], body.seed))
            yield sse("done", {"songs": len(rows)})

        return StreamingResponse(events(), media_type="text/event-stream", headers=NO_BUFFER)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        prompt = body.prompt
        name = body.model.lower().removeprefix("lyrics-gpt2").strip("-: ")
        if m := GENRE_PREFIX.match(prompt):
            genre, prompt = svc.genre(m.group(1), "prompt"), prompt[m.end() :]
        elif name:
            genre = svc.genre(name, "model")
        else:
            raise Invalid(
                "model",
                f"model must name a genre ({', '.join(svc.genres)}, or lyrics-gpt2-GENRE) "
                "or prompt must start with [Genre: X]",
            )
        cfg = {"temperature": body.temperature, "top_p": body.top_p}
        seed = body.seed if body.seed is not None else secrets.randbits(31)
        rows, _ = svc.rows(genre, prompt or None, body.n, seed, cfg, body.max_tokens)
        job = await svc.run(request, rows)
        ident, created = f"cmpl-{secrets.token_hex(12)}", int(time.time())
        head = {"id": ident, "object": "text_completion", "created": created, "model": body.model}

        def reason(row: Row) -> str:
            return "stop" if row.new and row.new[-1] == engine.eos_id else "length"

        def usage() -> dict:
            p, c = sum(len(r.prompt) for r in rows), sum(len(r.new) for r in rows)
            return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

        if body.stream:
            streams = [TextStream(svc.tokenizer, r.prompt, svc.drop) for r in rows]

            async def chunks():
                async for i, token, done in svc.tokens(request, job):
                    piece = streams[i].push(token)
                    if piece or done:
                        end = reason(rows[i]) if done else None
                        choice = {"text": piece, "index": i, "logprobs": None, "finish_reason": end}
                        yield sse(None, {**head, "choices": [choice]})
                yield sse(None, "[DONE]")

            return StreamingResponse(chunks(), media_type="text/event-stream", headers=NO_BUFFER)
        async for _ in svc.tokens(request, job):
            pass
        choices = [
            {"text": svc.tokenizer.decode([t for t in r.new if t not in svc.drop]), "index": i,
             "logprobs": None, "finish_reason": reason(r)}
            for i, r in enumerate(rows)
        ]  # fmt: skip
        return {**head, "choices": choices, "usage": usage()}

    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


NO_BUFFER = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
