"""The song-shape fields of POST /v1/songs and /v1/songs/stream (form, repeat_sections,
rhyme_scheme, syllables) on the tiny trained model, in-process over ASGI: refused with 422
naming the field when invalid, passed through to the sampler when valid."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import torch

from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.serve.app import create_app
from lyrics_gpt2.serve.engine import Engine
from lyrics_gpt2.songcraft.syllables import syllable_accuracy
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def app(tiny_trained):
    model_dir = tiny_trained[1]
    engine = Engine(load_for_inference(model_dir, torch.device("cpu")), load_tokenizer(model_dir),
                    max_batch=8, max_queue=8)  # fmt: skip
    engine.start()
    yield create_app(engine, queue_timeout=30.0)
    engine.stop()


def post(app, *bodies, path="/v1/songs"):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.post(path, json=b, timeout=120) for b in bodies))

    return asyncio.run(go())


BAD = [
    ({"form": "verse solo"}, "form", "verse solo"),
    ({"form": "verse chorus"}, "form", "section tokens"),  # the tiny model has none
    ({"repeat_sections": "twice"}, "repeat_sections", "copy or rewrite"),
    ({"rhyme_scheme": "A1"}, "rhyme_scheme", "one letter per line"),
    ({"syllables": "8,x"}, "syllables", "a count per line"),
    ({"syllables": [0]}, "syllables", "a count per line"),
]


def test_bad_song_shape_fields_are_422_naming_the_field(app):
    for path in ("/v1/songs", "/v1/songs/stream"):
        responses = post(app, *({"genre": "pop", **b} for b, *_ in BAD), path=path)
        for (body, field, words), resp in zip(BAD, responses, strict=True):
            assert resp.status_code == 422, (body, resp.text)
            error = resp.json()["error"]
            assert error["param"] == field and words in error["message"], (body, error)


def test_syllables_and_rhyme_scheme_reach_the_sampler(app):
    (resp,) = post(app, {"genre": "pop", "n": 4, "syllables": 6, "rhyme_scheme": "AABB",
                         "max_length": 60})  # fmt: skip
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["settings"]["syllables"] == [6] and body["settings"]["rhyme_scheme"] == "AABB"
    hits, total = syllable_accuracy([s["lyrics"] for s in body["songs"]], [6])
    assert total >= 8 and hits / total >= 0.8
