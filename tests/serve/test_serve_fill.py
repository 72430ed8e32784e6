"""The page's editing routes (POST /v1/fill, /v1/endings, /v1/analyze; lyrics_gpt2/serve/fill.py)
in-process over ASGI on a tiny model trained with section tokens: locked lines stay, filled lines
rhyme with their partners and keep their syllables, copies follow the first chorus, and bad
bodies are 4xx naming the field."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import torch

from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.serve.app import create_app
from lyrics_gpt2.serve.engine import Engine
from lyrics_gpt2.songcraft.rhyme import last_word, rhymes
from lyrics_gpt2.songcraft.syllables import line_syllables
from lyrics_gpt2.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def app(sectioned_trained):
    model = load_for_inference(sectioned_trained, torch.device("cpu"))
    engine = Engine(model, load_tokenizer(sectioned_trained), max_batch=8, max_queue=8)
    engine.start()
    yield create_app(engine, queue_timeout=30.0)
    engine.stop()


def post(app, path, *bodies):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                *(
                    client.post(path, json=b, timeout=120)
                    if not isinstance(b, bytes)
                    else client.post(path, content=b, timeout=120)
                    for b in bodies
                )
            )

    return asyncio.run(go())


def section(kind, *texts, locked=()):
    return {
        "kind": kind,
        "lines": [{"text": t, "locked": i in locked} for i, t in enumerate(texts)],
    }


def song(**extra):
    return {
        "genre": "pop",
        "sections": [
            section("verse", "dance in the night", "", "", "", locked={0}),
            section("chorus", "", "", "", ""),
            section("verse", "", "baby shine on me", "", "", locked={1}),
            section("chorus", "", "", "", ""),
        ],
        **extra,
    }


def test_fill_writes_every_unlocked_line_keeps_the_locked_and_copies_the_chorus(app):
    (resp,) = post(app, "/v1/fill", song(seed=3))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    sections = body["sections"]
    assert sections[0]["lines"][0] == {"text": "dance in the night", "locked": True}
    assert sections[2]["lines"][1] == {"text": "baby shine on me", "locked": True}
    texts = [line["text"] for sec in sections for line in sec["lines"]]
    assert all(t.strip() for t in texts), texts
    assert sections[1]["lines"] == sections[3]["lines"]  # the copy follows the first chorus
    # 4 + 4 + 4 - 2 locked lines filled; the second chorus is the first's copy, not filled.
    assert len(body["filled"]) == 10
    assert {f["section"] for f in body["filled"]} == {0, 1, 2}
    (again,) = post(app, "/v1/fill", song(seed=3))
    assert again.json()["sections"] == sections  # same seed, same song


def test_a_filled_line_rhymes_with_its_locked_partner_for_every_seed(app):
    bodies = []
    for seed in range(6):
        body = song(seed=seed, rhyme_scheme="AABB", fill=[[0, 1]])
        bodies.append(body)
    for resp in post(app, "/v1/fill", *bodies):
        assert resp.status_code == 200, resp.text
        line = resp.json()["sections"][0]["lines"][1]["text"]
        assert rhymes(last_word(line), "night"), line
        assert resp.json()["filled"] == [
            {"section": 0, "line": 1, "text": line, "rhymes_with": "night"}
        ]


def test_the_partner_may_come_after_the_filled_line(app):
    body = {"genre": "rap", "rhyme_scheme": "ABAB", "seed": 1, "fill": [[0, 0]],
            "sections": [section("verse", "", "", "walking down the street", "", locked={2})]}  # fmt: skip
    (resp,) = post(app, "/v1/fill", body)
    line = resp.json()["sections"][0]["lines"][0]["text"]
    assert rhymes(last_word(line), "street"), line


def test_filled_lines_keep_their_syllable_target(app):
    (resp,) = post(app, "/v1/fill", song(seed=5, syllables=6))
    lines = [x["text"] for x in resp.json()["filled"]]
    near = sum(abs(line_syllables(t) - 6) <= 1 for t in [f for f in lines])
    assert near >= 0.8 * len(lines), lines


def test_endings_rhyme_with_the_partner_ranked_by_the_model(app):
    body = song(rhyme_scheme="AABB", at=[0, 1], n=3)
    body["sections"][0]["lines"][1]["text"] = "we shine in the sky"
    (resp,) = post(app, "/v1/endings", body)
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert got["partner"] == "night"
    words = [e["word"] for e in got["endings"]]
    assert words and all(rhymes(w, "night") for w in words), words
    assert all(e["text"] == f"we shine in the {e['word']}" and e["rhymes"] for e in got["endings"])


def test_analyze_counts_syllables_and_groups_line_end_rhymes(app):
    (resp,) = post(app, "/v1/analyze", {"sections": [["dance in the night", "we feel the light"],
                                                      ["forever and a day", "love"]]})  # fmt: skip
    got = resp.json()
    first, second = got["sections"]
    assert [x["syllables"] for x in first] == [4, 4]
    assert first[0]["rhyme"] == first[1]["rhyme"] == 0
    assert second[0]["rhyme"] is None and second[1]["rhyme"] is None and got["groups"] == 1
    # A chorus sung twice is no rhyme of itself: the same word twice is not a group.
    (resp,) = post(app, "/v1/analyze", {"sections": [["under the stars", "hold me"],
                                                      ["under the stars", "hold me"]]})  # fmt: skip
    assert resp.json()["groups"] == 0


BAD = [
    ("/v1/fill", {"genre": "jazz", "sections": [section("verse", "x")]}, 422, "genre"),
    ("/v1/fill", {"genre": "pop", "sections": []}, 422, "sections"),
    ("/v1/fill", {"genre": "pop", "sections": [section("solo", "x")]}, 422, "sections[0].kind"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x" * 201)]}, 422,
     "sections[0].lines[0].text"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", *["x"] * 41)]}, 422,
     "sections[0].lines"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x")] * 33}, 422, "sections"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x")], "fill": [[1, 0]]}, 422,
     "fill[0]"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x", locked={0})],
                  "fill": [[0, 0]]}, 422, "fill[0]"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "a [Genre: Rap] b")]}, 422,
     "sections[0].lines[0].text"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x")], "rhyme_scheme": "A1"},
     422, "rhyme_scheme"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x")], "top_p": 2}, 422, "top_p"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", "x")], "colour": 1}, 422,
     "colour"),
    ("/v1/fill", {"genre": "pop", "sections": [section("verse", *[""] * 25)] * 2}, 422, "fill"),
    ("/v1/endings", {"genre": "pop", "sections": [section("verse", "x")], "at": [0, 3]}, 422,
     "at"),
    ("/v1/endings", {"genre": "pop", "sections": [section("verse", "...")], "at": [0, 0]}, 422,
     "at"),
    ("/v1/endings", {"genre": "pop", "sections": [section("verse", "x")], "at": [0, 0],
                     "n": 99}, 422, "n"),
    ("/v1/analyze", {"sections": [["x" * 300]]}, 422, "sections"),
    ("/v1/analyze", b"{not json", 400, "body"),
]  # fmt: skip


def test_bad_bodies_are_4xx_naming_the_field_and_the_server_keeps_serving(app):
    for path, body, status, param in BAD:
        (resp,) = post(app, path, body)
        assert resp.status_code == status, (body, resp.text)
        error = resp.json()["error"]
        assert error["param"] == param and error["message"], (body, error)
    (ok,) = post(app, "/v1/analyze", {"sections": [["still here"]]})
    assert ok.status_code == 200


def test_fill_works_on_a_model_without_section_tokens(tiny_trained):
    """Stanzas apart by a blank line are the context there; the rhyme holds the same way."""
    model_dir = tiny_trained[1]
    engine = Engine(load_for_inference(model_dir, torch.device("cpu")), load_tokenizer(model_dir),
                    max_batch=4, max_queue=4)  # fmt: skip
    engine.start()
    try:
        plain = create_app(engine, queue_timeout=30.0)
        body = {"genre": "rap", "rhyme_scheme": "AABB", "seed": 2,
                "sections": [section("other", "walking down the street", "", locked={0}),
                             section("other", "", "")]}  # fmt: skip
        (resp,) = post(plain, "/v1/fill", body)
        assert resp.status_code == 200, resp.text
        lines = [x["text"] for s in resp.json()["sections"] for x in s["lines"]]
        assert lines[0] == "walking down the street" and all(lines)
        assert rhymes(last_word(lines[1]), "street"), lines
    finally:
        engine.stop()
