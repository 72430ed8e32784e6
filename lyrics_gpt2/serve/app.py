"""The lyrics service's routes: the page, the songs API (JSON and server-sent events), the OpenAI
surface (lyrics_gpt2/serve/openai.py), health and metrics. ``create_app(engine)`` builds it;
``python -m lyrics_gpt2.serve`` (lyrics_gpt2/serve/__main__.py) loads a model and runs it under
uvicorn; ``factory()`` does the same for ``uvicorn --factory lyrics_gpt2.serve.app:factory``
(several ``--workers``), configured by LYRICS_GPT2_* environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.exceptions import HTTPException

from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.genres import model_genres, normalize_genre
from lyrics_gpt2.inference.params import Row, Sampling
from lyrics_gpt2.inference.sampler import (
    prompt_ids,
    row_generator,
    song_text,
    split_sections,
    steering_vocab,
)
from lyrics_gpt2.serve.engine import Engine, Job, Rejected
from lyrics_gpt2.serve.guard import Guard
from lyrics_gpt2.serve.prometheus import Metrics, RequestMetrics
from lyrics_gpt2.serve.responses import (
    NO_BUFFER,
    Invalid,
    TextStream,
    problem,
    sse,
    stream_error,
)
from lyrics_gpt2.serve.schemas import (
    CONTROL_TEXT,
    MAX_SONGS,
    SongRequest,
    default_max_length,
    error_message,
)
from lyrics_gpt2.serve.settings import (
    DEFAULT_MAX_BODY,
    DEFAULT_READ_TIMEOUT,
    build_engine,
    build_parser,
)
from lyrics_gpt2.songcraft.control import Steer, model_sections

STATIC = Path(__file__).resolve().parent / "static"
EDITING = ("/v1/fill", "/v1/endings", "/v1/analyze")  # routes of lyrics_gpt2/serve/fill.py


class Service:
    """What the routes share: the engine, the tokenizer's genres and the model's context."""

    def __init__(self, engine: Engine, model_name: str, queue_timeout: float, metrics: Metrics):
        self.engine, self.model_name, self.metrics = engine, model_name, metrics
        self.queue_timeout, self.started = queue_timeout, time.time()
        self.texts: dict[int, str] = {}
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

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, clean_up_tokenization_spaces=False)

    def token_text(self, token: int) -> str:
        """One token's text (logprobs name tokens by it), each decoded once."""
        text = self.texts.get(token)
        if text is None:
            text = self.texts[token] = self.decode([token])
        return text

    def rows(
        self,
        genre: str,
        prompt: str | None,
        n: int,
        seed: int,
        cfg: dict,
        max_length,
        length_param: str = "max_length",
    ):
        """One sampler row per song, checked as the generate command checks its flags."""
        if prompt:
            try:
                prompt.encode("utf-8")
            except UnicodeEncodeError as exc:
                bad = f"U+{ord(prompt[exc.start]):04X}"
                raise Invalid(
                    "prompt",
                    f"prompt must be Unicode text (a lone surrogate {bad} at character "
                    f"{exc.start}); send the character whole",
                ) from None
        if prompt and CONTROL_TEXT.search(prompt):
            raise Invalid(
                "prompt", "prompt must not contain control tokens ([Genre: X], <|endoftext|>)"
            )
        if n > self.engine.max_batch:
            raise Invalid("n", f"n must be an integer in 1..{self.engine.max_batch} (got {n})")
        try:
            ids = prompt_ids(self.tokenizer, self.genres[genre], prompt)
        except UsageError as exc:  # an artist token's text, or another control token
            raise Invalid("prompt", str(exc).replace("--prompt", "prompt", 1)) from None
        room = self.context - len(ids)
        if room < 1:
            raise Invalid(
                "prompt", f"prompt must be under {self.context - 1} tokens (got {len(ids) - 1})"
            )
        if max_length is not None and max_length > room:
            raise Invalid(
                length_param,
                f"{length_param} must be an integer in 1..{room} (the model sees {self.context} "
                f"tokens and the prompt takes {len(ids)}; got {max_length})",
            )
        sampling = Sampling(max_new_tokens=max_length or default_max_length(room), **cfg)
        return [Row(list(ids), sampling, row_generator(seed, i)) for i in range(n)], sampling

    async def run(self, request: Request, rows: list[Row], logprobs: int | None = None) -> Job:
        """Queue the rows and wait until they joined the batch (429 / 503 otherwise)."""
        job = self.engine.submit(rows, logprobs=logprobs)
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
            if not job.finished():
                self.engine.cancel(job)

    async def _watch(self, request: Request, job: Job) -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(0.25)
        self.engine.cancel(job)


def create_app(
    engine: Engine,
    *,
    model_name: str = "lyrics-gpt2",
    queue_timeout: float = 30.0,
    api_key: str | None = None,
    allowed_origins: tuple[str, ...] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> FastAPI:
    """The app around a (started or not) engine. ``api_key``: /v1/ routes want it as a Bearer
    token; ``allowed_origins``: browser origins CORS lets call the API ("*": any)."""
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
        errors = exc.errors()
        openai = request.url.path.endswith("completions")
        if openai:
            from lyrics_gpt2.serve.openai_schemas import OPENAI_RANGES, fields_of

            found = [
                error_message(e, OPENAI_RANGES, fields_of(request.url.path)) for e in errors[:5]
            ]
        elif request.url.path.endswith(EDITING):
            from lyrics_gpt2.serve.fill_schemas import fill_error

            found = [fill_error(e) for e in errors[:5]]
        else:
            found = [error_message(e) for e in errors[:5]]
        status = 400 if openai or (found and found[0][0] == "body") else 422
        more = f" (and {len(errors) - 5} more problems)" if len(errors) > 5 else ""
        text = "; ".join(dict.fromkeys(m for _, m in found)) + more  # a union repeats its error
        return problem(status, text, found[0][0] if found else None)

    @app.exception_handler(Invalid)
    async def invalid(request, exc: Invalid):
        status = 400 if request.url.path.endswith("completions") else exc.status
        return problem(status, exc.message, exc.param)

    @app.exception_handler(Rejected)
    async def rejected(request, exc: Rejected):
        return problem(exc.status, exc.message, retry_after=exc.retry_after)

    @app.exception_handler(HTTPException)
    async def http_error(request, exc: HTTPException):
        where = f"{request.method} {request.url.path[:200]}"
        words = {404: f"no such route: {where}; the API is listed at GET /docs",
                 405: f"method not allowed: {where}"}  # fmt: skip
        message = words.get(exc.status_code, str(exc.detail))
        return problem(exc.status_code, message, headers=exc.headers)

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
        if alive:
            return JSONResponse(body)
        return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon():
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

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
            "sections": list(model_sections(svc.tokenizer)),  # kinds a form may use ([] = none)
        }

    def song_rows(body: SongRequest):
        genre = svc.genre(body.genre)
        cfg = {k: getattr(body, k) for k in ("temperature", "top_k", "top_p", "repetition_penalty")}
        rows, sampling = svc.rows(genre, body.prompt, body.n, body.seed, cfg, body.max_length)
        settings = {"genre": genre, "n": body.n, "prompt": body.prompt, **cfg, "seed": body.seed}
        shape = steer_rows(rows, body)
        return genre, rows, {**settings, "max_length": sampling.max_new_tokens, **shape}

    def steer_rows(rows: list[Row], body: SongRequest) -> dict:
        """Attach the song-shape controls to the rows (lyrics_gpt2.songcraft.control)."""
        controls = body.controls()
        vocab = steering_vocab(svc.tokenizer, controls)
        if vocab is None:
            return {}
        if controls.form and not vocab.section_ids:
            raise Invalid("form", "form needs a model trained with section tokens "
                          "(data made with python -m pipeline.preprocess --sections)")  # fmt: skip
        for row in rows:
            row.control = Steer(controls, vocab)
            if controls.form:
                at = row.prefix
                row.prompt = [*row.prompt[:at], vocab.section_ids[controls.form[0]],
                              *row.prompt[at:]]  # fmt: skip
        if not controls.constrains:
            return {}
        return {"form": list(controls.form), "repeat_sections": controls.repeat_sections,
                "rhyme_scheme": controls.rhyme_scheme, "syllables": list(controls.syllables)}  # fmt: skip

    def song_json(genre: str, i: int, row: Row, seed: int) -> dict:
        text, tokens, ended = song_text(svc.tokenizer, row, engine.eos_id, svc.drop)
        out = {
            "genre": genre,
            "index": i,
            "seed": seed,
            "lyrics": text,
            "ended": ended,
            "tokens": tokens,
        }
        if isinstance(row.control, Steer) and row.control.v.section_ids:
            kinds = row.control.v.kind_of
            out["sections"] = split_sections(svc.tokenizer, row, engine.eos_id, kinds)
        return out

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
            try:
                async for i, token, done, _ in svc.tokens(request, job):
                    if piece := streams[i].push(token):
                        yield sse("text", {"index": i, "text": piece})
                    if done:
                        yield sse("song", song_json(genre, i, rows[i], body.seed))
            except Rejected as exc:  # the server shut down (or sampling failed) mid-stream
                yield sse("error", stream_error(exc))
                return
            yield sse("done", {"songs": len(rows)})

        return StreamingResponse(events(), media_type="text/event-stream", headers=NO_BUFFER)

    from lyrics_gpt2.serve import fill
    from lyrics_gpt2.serve.openai import router

    app.include_router(router(svc))
    app.include_router(fill.router(svc))  # the page's editing routes
    # Outermost last: metrics see every answer (401, 413, CORS preflights included).
    app.add_middleware(Guard, api_key=api_key, max_body=max_body_bytes, read_timeout=read_timeout)
    if allowed_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(allowed_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


def factory() -> FastAPI:
    """The app for ``uvicorn --factory lyrics_gpt2.serve.app:factory`` (one per worker process),
    configured by the environment: LYRICS_GPT2_MODEL (folder), LYRICS_GPT2_API_KEY,
    LYRICS_GPT2_ALLOWED_ORIGINS (comma-separated), LYRICS_GPT2_MAX_BATCH, LYRICS_GPT2_MAX_QUEUE,
    LYRICS_GPT2_THREADS (torch threads per worker)."""

    env = os.environ.get
    argv = ["--model", env("LYRICS_GPT2_MODEL", "artifacts/model")]
    for flag in ("max-batch", "max-queue", "queue-timeout", "threads", "max-body-bytes"):
        if value := env("LYRICS_GPT2_" + flag.upper().replace("-", "_")):
            argv += [f"--{flag}", value]
    args = build_parser().parse_args(argv)
    engine = build_engine(args)
    origins = tuple(
        o.strip() for o in env("LYRICS_GPT2_ALLOWED_ORIGINS", "").split(",") if o.strip()
    )
    return create_app(
        engine,
        model_name=args.model.name,
        queue_timeout=args.queue_timeout,
        api_key=env("LYRICS_GPT2_API_KEY") or None,
        allowed_origins=origins,
        max_body_bytes=args.max_body_bytes,
    )
