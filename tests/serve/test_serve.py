"""The lyrics service in-process (httpx over ASGI) on the tiny trained model: every route, the
stream, bad bodies, backpressure (429/503), a client that goes away, and songs equal to the
generate command's for the same seed and settings."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import torch

from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.inference.params import Sampling
from lyrics_gpt2.inference.sampler import generate_songs
from lyrics_gpt2.serve.app import create_app
from lyrics_gpt2.serve.engine import Engine
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def model_dir(tiny_trained):
    return tiny_trained[1]


@pytest.fixture(scope="module")
def loaded(model_dir):
    return load_for_inference(model_dir, torch.device("cpu")), load_tokenizer(model_dir)


def make_app(loaded, *, start=True, queue_timeout=30.0, **engine_args):
    model, tok = loaded
    engine = Engine(model, tok, **{"max_batch": 8, "max_queue": 8, **engine_args})
    if start:
        engine.start()
    return create_app(engine, queue_timeout=queue_timeout), engine


@pytest.fixture(scope="module")
def served(loaded):
    app, engine = make_app(loaded)
    yield app, engine
    engine.stop()


def call(app, *requests):
    """Send (method, path, json-or-bytes) requests concurrently; the responses, in order."""

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            def one(method, path, body=None):
                if isinstance(body, bytes):
                    headers = {"content-type": "application/json"}
                    return client.request(method, path, content=body, headers=headers, timeout=120)
                return client.request(method, path, json=body, timeout=120)

            return await asyncio.gather(*(one(*r) for r in requests))

    return asyncio.run(go())


def events(text: str) -> list[tuple[str | None, str]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields.get("event"), fields["data"]))
    return out


def test_page_genres_health_and_metrics(served):
    app, _ = served
    page, js, genres, health = call(
        app, ("GET", "/"), ("GET", "/static/app.js"), ("GET", "/v1/genres"), ("GET", "/health")
    )
    assert page.status_code == 200 and 'id="genre"' in page.text and "viewport" in page.text
    assert js.status_code == 200 and "v1/songs/stream" in js.text
    body = genres.json()
    assert [g["tag"] for g in body["genres"]][:2] == ["pop", "rap"]
    assert body["genres"][1]["token"] == "[Genre: Rap]"
    assert body["defaults"]["temperature"] == Sampling().temperature
    assert health.status_code == 200 and health.json()["status"] == "ok"
    call(app, ("POST", "/v1/songs", {"genre": "rap", "max_length": 8}))
    (metrics,) = call(app, ("GET", "/metrics"))
    text = metrics.text
    assert 'lyrics_requests_total{route="/v1/songs",status="200"}' in text
    assert 'lyrics_requests_total{route="/v1/genres",status="200"} 1.0' in text
    for name in ("lyrics_queue_depth", "lyrics_batch_rows_bucket", "lyrics_tokens_generated_total",
                 "lyrics_request_seconds_bucket", "lyrics_first_token_seconds_count"):  # fmt: skip
        assert name in text


def test_songs_equal_the_generate_commands_songs(served, model_dir, cli):
    app, _ = served
    body = {"genre": "rap", "n": 3, "seed": 7, "max_length": 40, "prompt": "cash flow",
            "temperature": 1.1, "top_k": 20, "top_p": 0.9, "repetition_penalty": 1.2}  # fmt: skip
    (resp,) = call(app, ("POST", "/v1/songs", body))
    assert resp.status_code == 200
    served_songs = resp.json()["songs"]
    args = ["--genre", "rap", "--num-songs", "3", "--seed", "7", "--max-length", "40",
            "--prompt", "cash flow", "--temperature", "1.1", "--top-k", "20", "--top-p", "0.9",
            "--repetition-penalty", "1.2"]  # fmt: skip
    done = cli("lyrics_gpt2.generate", "--model", model_dir, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    command = json.loads(done.stdout)["songs"]
    assert [s["lyrics"] for s in served_songs] == [s["text"] for s in command]
    assert [(s["tokens"], s["ended"]) for s in served_songs] == [
        (s["tokens"], s["ended"]) for s in command
    ]
    assert resp.json()["settings"]["max_length"] == 40


def test_concurrent_requests_with_their_own_settings_equal_their_songs_alone(served, loaded):
    """Continuous batching: requests sampled together, each with other settings, get the songs
    each would get alone (the generate command's)."""
    app, _ = served
    model, tok = loaded
    bodies = [
        {"genre": "rap", "n": 2, "seed": 1, "max_length": 30},
        {"genre": "pop", "n": 1, "seed": 2, "max_length": 50, "temperature": 1.5, "top_k": 0},
        {"genre": "pop", "n": 3, "seed": 3, "max_length": 20, "prompt": "love", "top_p": 0.5},
    ]
    responses = call(app, *(("POST", "/v1/songs", b) for b in bodies))
    for body, resp in zip(bodies, responses, strict=True):
        cfg = {k: body[k] for k in ("temperature", "top_k", "top_p") if k in body}
        want = generate_songs(
            model, tok, [body["genre"]], body["n"], Sampling(max_new_tokens=body["max_length"], **cfg),
            seed=body["seed"], prompt=body.get("prompt"),
        )  # fmt: skip
        assert [s["lyrics"] for s in resp.json()["songs"]] == [s.text for s in want]


def test_stream_sends_pieces_then_the_whole_song(served):
    app, _ = served
    body = {"genre": "pop", "seed": 11, "max_length": 40, "prompt": "night"}
    stream, plain = call(app, ("POST", "/v1/songs/stream", body), ("POST", "/v1/songs", body))
    assert stream.status_code == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    got = events(stream.text)
    kinds = [k for k, _ in got]
    assert kinds[0] == "settings" and kinds[-2:] == ["song", "done"]
    pieces = [json.loads(d)["text"] for k, d in got if k == "text"]
    assert len(pieces) > 5 and pieces[0].startswith("night")
    song = json.loads(got[-2][1])
    assert song == plain.json()["songs"][0]
    # The final text is the pieces cleaned (blank-line runs, reflow): the same words.
    assert "".join(pieces).split() == song["lyrics"].split()


def test_openai_completions_shape_json_and_stream(served, loaded):
    app, _ = served
    cash = len(loaded[1]("cash", add_special_tokens=False)["input_ids"])
    plain, by_prefix, streamed, no_genre = call(
        app,
        ("POST", "/v1/completions", {"model": "rap", "prompt": "cash", "max_tokens": 12, "seed": 1, "n": 2}),
        ("POST", "/v1/completions", {"model": "lyrics-gpt2", "prompt": "[Genre: Pop] love", "max_tokens": 5}),
        ("POST", "/v1/completions", {"model": "lyrics-gpt2-rap", "prompt": "cash", "max_tokens": 12, "seed": 1, "stream": True}),
        ("POST", "/v1/completions", {"model": "lyrics-gpt2", "prompt": "hello"}),
    )  # fmt: skip
    body = plain.json()
    assert plain.status_code == 200 and body["object"] == "text_completion"
    assert [c["index"] for c in body["choices"]] == [0, 1]
    assert all(c["finish_reason"] in ("stop", "length") for c in body["choices"])
    # As OpenAI counts: the client's prompt once (not the hidden genre token, not per choice).
    assert body["usage"]["completion_tokens"] <= 24 and body["usage"]["prompt_tokens"] == cash
    assert by_prefix.status_code == 200 and by_prefix.json()["usage"]["completion_tokens"] <= 5
    chunks = [d for _, d in events(streamed.text)]
    assert chunks[-1] == "[DONE]"
    parts = [json.loads(d)["choices"][0] for d in chunks[:-1]]
    assert parts[-1]["finish_reason"] in ("stop", "length")
    assert "".join(p["text"] for p in parts) == body["choices"][0]["text"]  # same seed, same text
    assert no_genre.status_code == 400 and no_genre.json()["error"]["param"] == "model"


BAD = [
    ({"genre": "jazz"}, 422, "genre", "one of pop, rap"),
    ({}, 422, "genre", "genre is required"),
    ({"genre": "rap", "temperature": 0}, 422, "temperature", "in 0.001..100"),
    ({"genre": "rap", "temperature": 1e-300}, 422, "temperature", "smaller cannot be divided by"),
    ({"genre": "rap", "temperature": "hot"}, 422, "temperature", "0.001..100 (smaller cannot be divided by) (got 'hot')"),
    ({"genre": "rap", "top_p": 1.5}, 422, "top_p", "(0, 1]"),
    ({"genre": "rap", "top_p": 0}, 422, "top_p", "(0, 1]"),
    ({"genre": "rap", "top_k": -1}, 422, "top_k", ">= 0"),
    ({"genre": "rap", "n": 0}, 422, "n", "1..8"),
    ({"genre": "rap", "max_length": 100000}, 422, "max_length", "max_length must be an integer in 1.."),
    ({"genre": "rap", "max_length": 0}, 422, "max_length", ">= 1"),
    ({"genre": "rap", "prompt": "la " * 400}, 422, "prompt", "at most 1000 characters"),
    ({"genre": "rap", "prompt": "la " * 300}, 422, "prompt", "prompt must be under"),
    ({"genre": "rap", "prompt": "yo [Genre: Pop] yo"}, 422, "prompt", "control tokens"),
    ({"genre": "rap", "prompt": "end<|endoftext|>"}, 422, "prompt", "control tokens"),
    ({"genre": "rap", "colour": "red"}, 422, "colour", "not a field"),
    (b"{not json", 400, "body", "not valid JSON"),
    ([1, 2], 400, "body", "JSON object"),
]  # fmt: skip


def test_bad_bodies_name_the_field_and_its_range_and_the_server_keeps_serving(served):
    app, _ = served
    responses = call(app, *(("POST", "/v1/songs", body) for body, *_ in BAD))
    for (body, status, field, words), resp in zip(BAD, responses, strict=True):
        error = resp.json()["error"]
        assert (resp.status_code, error["param"]) == (status, field), (body, error)
        assert words in error["message"], (body, error["message"])
        assert "Traceback" not in resp.text
    stream_bad, still = call(
        app, ("POST", "/v1/songs/stream", {"genre": "rap", "top_p": 2}),
        ("POST", "/v1/songs", {"genre": "rap", "max_length": 5}),
    )  # fmt: skip
    assert stream_bad.status_code == 422
    assert still.status_code == 200 and still.json()["songs"][0]["tokens"] <= 5


def test_beyond_max_queue_429_at_once_and_a_long_wait_503(loaded):
    """The sampling thread is not started, so nothing leaves the queue: the second request finds
    it full (429 + Retry-After, at once) and the first times out (503)."""
    app, engine = make_app(loaded, start=False, max_queue=1, queue_timeout=1.0)

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            first = asyncio.create_task(client.post("/v1/songs", json={"genre": "rap"}))
            while not engine.waiting:
                await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            second = await client.post("/v1/songs", json={"genre": "pop"})
            quick = time.perf_counter() - t0
            return await first, second, quick

    first, second, quick = asyncio.run(go())
    assert second.status_code == 429 and second.headers["Retry-After"] == "1"
    assert quick < 0.5
    assert first.status_code == 503 and "waited 1 s" in first.json()["error"]["message"]
    assert not engine.waiting or engine.waiting[0].cancelled


def test_a_client_that_goes_away_frees_its_row(served, loaded):
    """Raw ASGI: the client disconnects after the first piece of the stream. The sampling thread
    is held (its lock taken) from that piece until the app returns, so the row is still running
    when the client goes away, whatever the machine's speed."""
    app, engine = served
    model, tok = loaded
    room = model.config.n_positions - 2
    cfg = Sampling(max_new_tokens=room)
    seed = next(
        s for s in range(50) if generate_songs(model, tok, ["rap"], 1, cfg, seed=s)[0].tokens > 8
    )
    body = json.dumps({"genre": "rap", "max_length": room, "seed": seed}).encode()
    abandoned_before = engine.metrics.abandoned._value.get()
    sent: list[dict] = []

    async def go():
        got_text = asyncio.Event()
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            if messages:
                return messages.pop()
            await got_text.wait()
            return {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)
            if b"event: text" in message.get("body", b"") and not got_text.is_set():
                engine.wake.acquire()
                got_text.set()

        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": "POST", "scheme": "http",
            "path": "/v1/songs/stream", "raw_path": b"/v1/songs/stream", "query_string": b"",
            "root_path": "", "headers": [(b"content-type", b"application/json"), (b"host", b"t")],
            "client": ("127.0.0.1", 5000), "server": ("t", 80),
        }  # fmt: skip
        try:
            await asyncio.wait_for(app(scope, receive, send), 30)
        finally:
            engine.wake.release()

    asyncio.run(go())
    assert sent[0]["status"] == 200
    deadline = time.time() + 10
    while engine.metrics.abandoned._value.get() == abandoned_before and time.time() < deadline:
        time.sleep(0.02)
    assert engine.metrics.abandoned._value.get() == abandoned_before + 1
    assert engine.batch.rows == [] and not engine.running
    assert b"event: song" not in b"".join(m.get("body", b"") for m in sent)
