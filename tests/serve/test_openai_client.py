"""The OpenAI surface through the official ``openai`` client against a real uvicorn server on
127.0.0.1 (the tiny trained model), deployed as behind a proxy: an API key, CORS for one origin,
and ``--root-path /lyrics``. Models, completions and chat (plain and streamed), stop, logprobs,
echo, temperature 0, refused parameters, the key, the preflight and the page under the prefix."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.serve.served import server

KEY = "sk-test-lyrics"
ORIGIN = "https://app.example"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployed(tiny_trained):
    flags = ["--api-key", KEY, "--allowed-origins", ORIGIN, "--root-path", "/lyrics",
             "--max-batch", "8", "--access-log", "--log-level", "info"]  # fmt: skip
    with server(tiny_trained[1], *flags) as (url, proc):
        yield url, proc


@pytest.fixture(scope="module")
def client(deployed):
    return openai.OpenAI(base_url=deployed[0] + "/v1", api_key=KEY, max_retries=0, timeout=120)


def test_models_list_names_the_model_and_every_genre_with_its_context(client, tiny_trained):
    models = client.models.list().data
    ids = [m.id for m in models]
    assert ids == [tiny_trained[1].name, "pop", "rap"]
    assert all(m.model_extra["max_model_len"] == 64 for m in models)


def test_completions_plain_and_streamed_give_the_same_text_for_the_same_seed(client, tiny_trained):
    from lyrics_gpt2.tokenizer import load_tokenizer

    args = {"model": "rap", "prompt": "cash", "max_tokens": 20, "seed": 5}
    plain = client.completions.create(**args, n=2)
    assert [c.index for c in plain.choices] == [0, 1]
    assert plain.model == "rap" and plain.object == "text_completion"
    prompt_tokens = len(load_tokenizer(tiny_trained[1])("cash")["input_ids"])
    assert plain.usage.prompt_tokens == prompt_tokens  # once, without the hidden genre token
    assert plain.usage.completion_tokens <= 40
    chunks = list(
        client.completions.create(**args, stream=True, stream_options={"include_usage": True})
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == plain.choices[0].text  # choice 0 has the same random stream alone
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == prompt_tokens


def test_chat_takes_the_genre_from_a_system_message_and_streams_the_same_reply(client):
    messages = [{"role": "system", "content": "genre: pop"}, {"role": "user", "content": "love"}]
    args = {"model": "lyrics-gpt2", "messages": messages, "max_tokens": 20, "seed": 3}
    plain = client.chat.completions.create(**args)
    reply = plain.choices[0].message
    assert plain.model == "pop" and reply.role == "assistant" and reply.content
    streamed = list(client.chat.completions.create(**args, stream=True))
    assert streamed[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in streamed) == reply.content
    assert streamed[-1].choices[0].finish_reason == plain.choices[0].finish_reason
    by_model = client.chat.completions.create(**{**args, "model": "pop", "messages": messages[1:]})
    assert by_model.choices[0].message.content == reply.content


def test_stop_cuts_before_the_stop_string_with_finish_reason_stop(client):
    args = {
        "model": "rap",
        "prompt": "cash",
        "max_tokens": 40,
        "seed": 9,
        "extra_body": {"min_tokens": 40},
    }
    full = client.completions.create(**args).choices[0].text
    stop = full.split()[3]  # a word well inside the text
    cut = client.completions.create(**args, stop=[stop, "zzzz-never"]).choices[0]
    assert cut.text == full[: full.index(stop)] and cut.finish_reason == "stop"
    streamed = client.completions.create(**args, stop=stop, stream=True)
    parts = [c.choices[0] for c in streamed]
    assert "".join(p.text for p in parts) == cut.text and parts[-1].finish_reason == "stop"


def test_logprobs_give_the_top_n_per_token_and_the_chosen_tokens_own(client):
    out = client.completions.create(model="rap", prompt="cash", max_tokens=10, seed=2, logprobs=3)
    lp = out.choices[0].logprobs
    assert "".join(lp.tokens) == out.choices[0].text and len(lp.tokens) == len(lp.token_logprobs)
    for token, logprob, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs, strict=True):
        assert len(top) <= 3 and logprob <= 0
        assert max(top.values()) >= logprob  # the top candidates are at least as likely
        assert top.get(token, logprob) == pytest.approx(logprob)  # one number per token
    chat = client.chat.completions.create(
        model="pop", messages=[{"role": "user", "content": "night"}], max_tokens=6, seed=2,
        logprobs=True, top_logprobs=2,
    )  # fmt: skip
    content = chat.choices[0].logprobs.content
    assert "".join(t.token for t in content) == chat.choices[0].message.content
    assert all(len(t.top_logprobs) == 2 for t in content)


def test_echo_returns_the_prompt_then_the_continuation(client):
    args = {"model": "pop", "prompt": "love", "max_tokens": 8, "seed": 4}
    plain = client.completions.create(**args).choices[0].text
    echoed = client.completions.create(**args, echo=True).choices[0].text
    assert echoed == "love" + plain


def test_temperature_zero_is_greedy_the_same_text_whatever_the_seed(client):
    args = {"model": "rap", "prompt": "cash", "max_tokens": 12, "temperature": 0, "logprobs": 1,
            "extra_body": {"repetition_penalty": 1.0}}  # fmt: skip
    a = client.completions.create(**args, seed=1).choices[0]
    b = client.completions.create(**args, seed=2).choices[0]
    assert a.text == b.text
    for token, top in zip(a.logprobs.tokens, a.logprobs.top_logprobs, strict=True):
        assert list(top) == [token]  # every token is the model's most likely one


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"logit_bias": {"50": 5}}, "logit_bias"),
        ({"suffix": "end"}, "suffix"),
        ({"best_of": 3}, "best_of"),
        ({"presence_penalty": 0.5}, "presence_penalty"),
        ({"frequency_penalty": 1.0}, "frequency_penalty"),
        ({"extra_body": {"colour": "red"}}, "colour"),
        ({"max_tokens": 100000}, "max_tokens"),
    ],
)
def test_unsupported_parameters_are_refused_with_400_naming_them(client, extra, field):
    with pytest.raises(openai.BadRequestError) as caught:
        client.completions.create(model="rap", prompt="x", **extra)
    error = caught.value.body
    assert caught.value.status_code == 400 and error["param"] == field, error
    assert field in error["message"]


def test_the_api_key_is_required_on_the_api_but_not_on_health(deployed):
    url = deployed[0]
    bad = openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    assert httpx.get(url + "/health").status_code == 200
    missing = httpx.get(url + "/v1/genres")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"


def test_cors_preflight_allows_the_configured_origin_only(deployed):
    url = deployed[0] + "/v1/chat/completions"
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type"}  # fmt: skip
    ok = httpx.options(url, headers={"Origin": ORIGIN, **ask})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    other = httpx.options(url, headers={"Origin": "https://evil.example", **ask})
    assert "access-control-allow-origin" not in other.headers


def test_under_a_root_path_the_page_links_resolve_and_errors_keep_openai_shape(deployed):
    url = deployed[0]  # a proxy strips /lyrics: the server sees what this client sends
    page = httpx.get(url + "/")
    assert 'href="static/style.css"' in page.text and 'src="static/app.js"' in page.text
    assert 'fetch("v1/genres")' in httpx.get(url + "/static/app.js").text
    assert httpx.get(url + "/favicon.ico").status_code == 200
    docs = httpx.get(url + "/openapi.json").json()
    assert docs["servers"] == [{"url": "/lyrics"}]
    for method, path in (("GET", "/v1/nothing"), ("DELETE", "/v1/songs")):
        resp = httpx.request(method, url + path, headers={"Authorization": f"Bearer {KEY}"})
        assert resp.status_code in (404, 405) and set(resp.json()["error"]) >= {"message", "param"}


def test_the_access_log_has_a_line_per_request(deployed):
    url, proc = deployed
    httpx.get(url + "/health?from=access-log-test")
    proc.terminate()
    proc.wait(timeout=30)
    proc.out.seek(0)
    log = proc.out.read()
    assert "GET /lyrics/health?from=access-log-test HTTP/1.1" in log and "200" in log
