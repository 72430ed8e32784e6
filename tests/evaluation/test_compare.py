"""lyrics_gpt2.compare: bits per byte of GPT-2 and RNN models on the same songs and bytes."""

from __future__ import annotations

import json
import math

import pytest
import torch

from lyrics_gpt2 import compare
from lyrics_gpt2.cli import run
from lyrics_gpt2.genres import GENRE_TOKENS
from lyrics_gpt2.rnn.data import load_splits
from lyrics_gpt2.rnn.model import RNNLM, RNNBundle, RNNConfig, save_rnn
from lyrics_gpt2.rnn.vocab import ByteVocab, Conditions

N_POSITIONS = 24  # shorter than most tiny songs, so GPT-2 must score them in windows
MAX_SONGS = 6


# Tiny models: threads only add overhead on a 2-core machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    from lyrics_gpt2.rnn.testing import write_tiny_rnn_data

    root = tmp_path_factory.mktemp("compare")
    data = write_tiny_rnn_data(root / "data", train_per_genre=4, val_per_genre=4)
    tokenizer = AutoTokenizer.from_pretrained(str(data / "tokenizer"))
    torch.manual_seed(0)
    config = GPT2Config(
        n_layer=1,
        n_embd=16,
        n_head=2,
        n_positions=N_POSITIONS,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    for name in ("gpt2", "untuned"):
        GPT2LMHeadModel(config).save_pretrained(root / name)
    tokenizer.save_pretrained(root / "gpt2")
    (root / "gpt2" / "summary.json").write_text(
        json.dumps({"base_model": str(root / "untuned"), "train_time_s": 12.0})
    )
    rnn = RNNLM(RNNConfig("char-gru", 258, 8, 16, 1, 0.0, 2))
    save_rnn(RNNBundle(rnn, ByteVocab(), Conditions("genre", ["pop", "rap"]), rnn.config), root)
    return root, data, tokenizer


@pytest.fixture(scope="module")
def result(setup):
    root, data, _ = setup
    return compare.compare(data, [root / "gpt2", root], n_boot=200, max_songs=MAX_SONGS)


def songs(data):
    return load_splits(data)["validation"][:MAX_SONGS]


def test_rows_kinds_and_the_same_bytes_for_every_model(result, setup):
    _, data, _ = setup
    kinds = [row["kind"] for row in result["models"]]
    assert kinds == ["gpt2 (tuned)", "gpt2 (base)", "char-gru | genre"]
    assert result["bytes"] == sum(len(s.lyrics.encode()) for s in songs(data))
    for row in result["models"]:
        overall = row["bits_per_byte"]["all"]
        assert overall["bytes"] == result["bytes"] and overall["songs"] == MAX_SONGS
        low, high = overall["ci95"]
        assert low <= overall["bits_per_byte"] <= high
        assert set(row["bits_per_byte"]) == {"all", "pop", "rap"}
        assert isinstance(row["sample"], str)
    assert result["models"][0]["train_time_s"] == 12.0
    text = compare.render(result)
    assert "gpt2 (tuned)" in text and "char-gru | genre" in text


def test_rnn_bits_per_byte_equal_a_step_by_step_computation(result, setup):
    root, data, _ = setup
    from lyrics_gpt2.rnn.model import load_rnn

    bundle = load_rnn(root)
    total_nats = 0.0
    with torch.no_grad():
        for song in songs(data):
            cond = torch.tensor([bundle.conditions.labels.index(song.genre)])
            state = bundle.model.init_state(1)
            prev = 256  # <bos>
            for target in [*song.lyrics.encode("utf-8"), 257]:  # the bytes, then <eos>
                logits, state = bundle.model(torch.tensor([[prev]]), cond, state)
                total_nats -= torch.log_softmax(logits[0, -1].double(), -1)[target].item()
                prev = target
    expected = total_nats / math.log(2) / result["bytes"]
    got = result["models"][2]["bits_per_byte"]["all"]["bits_per_byte"]
    assert got == pytest.approx(expected, rel=1e-6)


def test_gpt2_bits_per_byte_equal_a_token_by_token_computation(result, setup):
    """Each target scored alone with the context the window rule gives it."""
    from transformers import AutoModelForCausalLM

    root, data, tokenizer = setup
    model = AutoModelForCausalLM.from_pretrained(root / "gpt2").eval()
    width = N_POSITIONS - 1
    stride = width // 2
    eos = tokenizer.eos_token_id
    total_nats, longest = 0.0, 0
    with torch.no_grad():
        for song in songs(data):
            genre = tokenizer.convert_tokens_to_ids(GENRE_TOKENS[song.genre])
            ids = [*tokenizer(song.lyrics)["input_ids"], eos]
            longest = max(longest, len(ids))
            for k, target in enumerate(ids):
                # windows start at 0, stride, 2 * stride, ...; target k is scored by the first
                # window that reaches it, with that window's earlier tokens as context
                m = 0 if k < width else -(-(k - width + 1) // stride)
                context = ids[m * stride : k]
                logits = model(torch.tensor([[genre, *context]])).logits[0, -1]
                total_nats -= torch.log_softmax(logits.double(), -1)[target].item()
    assert longest > 2 * width  # the windows were exercised
    expected = total_nats / math.log(2) / result["bytes"]
    got = result["models"][0]["bits_per_byte"]["all"]["bits_per_byte"]
    assert got == pytest.approx(expected, rel=1e-5)


def test_cli_writes_json_and_bad_input_exits_2_with_one_line(setup, tmp_path, capsys):
    root, data, _ = setup
    out = tmp_path / "cmp.json"
    argv = ["--data-dir", str(data), "--models", str(root), "--max-songs", "2", "--json", str(out)]
    assert run(compare.main, [*argv, "--bootstrap", "0"]) == 0
    assert json.loads(out.read_text())["models"][0]["bits_per_byte"]["all"]["ci95"] is None
    capsys.readouterr()
    for bad, message in [
        (["--models", str(tmp_path / "nope")], "no model folder"),
        (["--models", str(tmp_path)], "neither an RNN nor a Hugging Face model folder"),
        (["--models", str(root), "--bootstrap", "-1"], "--bootstrap must be >= 0"),
    ]:
        assert run(compare.main, ["--data-dir", str(data), *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1


def test_a_base_recorded_relative_to_the_model_folder_is_found(setup, tmp_path):
    # Training records its base relative to the model folder (so the pair can be moved): the
    # comparison must resolve it there, as the perplexity command does, not from the cwd.
    import shutil

    root, data, _ = setup
    moved = tmp_path / "moved"
    shutil.copytree(root / "gpt2", moved / "gpt2")
    shutil.copytree(root / "untuned", moved / "untuned")
    (moved / "gpt2" / "summary.json").write_text(json.dumps({"base_model": "../untuned"}))
    result = compare.compare(data, [moved / "gpt2"], n_boot=0, max_songs=2)
    assert [row["kind"] for row in result["models"]] == ["gpt2 (tuned)", "gpt2 (base)"]
