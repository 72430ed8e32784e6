"""The RNN models themselves: learning, TBPTT state, gradient checkpointing, tying, conditioning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lyrics_gpt2.rnn.data import IGNORE, Encoded, WindowPlan
from lyrics_gpt2.rnn.model import ARCHS, RNNLM, RNNBundle, RNNConfig, load_rnn, save_rnn
from lyrics_gpt2.rnn.vocab import ByteVocab, Conditions, WordVocab

# Tiny models: threads only add overhead on a 2-core machine.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


TEXTS = ["la la love\nbaby dance tonight\n", "money block hustle\nflow crew grind\n"] * 4


def tiny(arch, cond_size=0, dropout=0.0, vocab_size=258):
    torch.manual_seed(0)
    return RNNLM(RNNConfig(arch, vocab_size, 8, 16, 2, dropout, cond_size))


def encoded(texts, vocab, cond=None) -> Encoded:
    pieces = [np.asarray(vocab.encode(t), dtype=np.int64) for t in texts]
    starts = np.concatenate([[0], np.cumsum([len(p) for p in pieces])])
    return Encoded(
        np.concatenate(pieces),
        starts,
        np.asarray(cond if cond is not None else [0] * len(texts)),
        np.zeros(len(texts)),
        np.asarray([len(t.encode()) for t in texts]),
    )


def train_steps(model, data, steps, bptt=16, batch=4, lr=0.02, bos=256, eos=257):
    """Plain TBPTT loop as the training command runs it; returns the loss of every step."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    state = model.init_state(batch)
    losses, epoch = [], 0
    while len(losses) < steps:
        plan = WindowPlan(data, batch, bptt, seed=0, epoch=epoch)
        for k in range(len(plan)):
            w = plan.window(k, bos, eos)
            state = model.reset_state(model.detach_state(state), torch.from_numpy(w.reset))
            nll, state = model.window_nll(
                torch.from_numpy(w.x), torch.from_numpy(w.y), torch.from_numpy(w.cond), state
            )
            loss = nll / (w.y != IGNORE).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
        epoch += 1
    return losses


@pytest.mark.parametrize("arch", ARCHS)
def test_each_arch_learns(arch):
    vocab = WordVocab.build(TEXTS, min_count=1) if arch == "word-lstm" else ByteVocab()
    model = tiny(arch, vocab_size=vocab.size)
    losses = train_steps(model, encoded(TEXTS, vocab), 40, bos=vocab.bos, eos=vocab.eos)
    assert np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])


def test_window_plan_carries_songs_and_resets_only_at_their_start():
    data = encoded(TEXTS, ByteVocab())
    plan = WindowPlan(data, batch=3, bptt=7, seed=1, epoch=0)
    for b in range(3):
        prev = None
        for k in range(len(plan)):
            song, off = int(plan.song[b, k]), int(plan.offset[b, k])
            if song < 0:
                continue
            # a song's windows follow each other in its lane, offsets in steps of bptt
            assert off == 0 or (prev == (song, off - 7))
            assert plan.window(k, 256, 257).reset[b] == (off == 0)
            prev = (song, off)
    # every target of every song appears exactly once in the epoch
    targets = sum(int((plan.window(k, 256, 257).y != IGNORE).sum()) for k in range(len(plan)))
    assert targets == int((data.lengths() + 1).sum())
    assert plan.song.max() == len(data) - 1


@pytest.mark.parametrize("arch", ARCHS)
def test_tbptt_detached_state_gives_the_whole_song_forward(arch):
    """Two windows with the carried, detached state score a song exactly as one pass does."""
    model = tiny(arch).eval()
    x = torch.randint(0, 256, (2, 20))
    y = torch.randint(0, 256, (2, 20))
    cond = torch.zeros(2, dtype=torch.long)
    whole, _ = model.window_nll(x, y, cond, model.init_state(2))
    first, state = model.window_nll(x[:, :9], y[:, :9], cond, model.init_state(2))
    state = model.detach_state(state)
    assert all(not s.requires_grad for s in state)
    assert all(s.abs().sum() > 0 for s in state)  # carried, not zero: the song goes on
    second, _ = model.window_nll(x[:, 9:], y[:, 9:], cond, state)
    torch.testing.assert_close(first + second, whole)
    # a reset lane starts from zero, the other keeps its state
    reset = model.reset_state(state, torch.tensor([True, False]))
    assert all(s[:, 0].abs().sum() == 0 and s[:, 1].abs().sum() > 0 for s in reset)


@pytest.mark.parametrize("arch", ARCHS)
def test_gradient_checkpointing_gives_the_same_gradients(arch):
    x = torch.randint(0, 256, (3, 24))
    y = torch.randint(0, 256, (3, 24))
    y[0, 20:] = IGNORE
    cond = torch.tensor([0, 1, 1])
    grads = []
    for ckpt in (False, True):
        model = tiny(arch, cond_size=2, dropout=0.3).train()
        torch.manual_seed(5)  # the same dropout masks in both runs
        nll, _ = model.window_nll(x, y, cond, model.init_state(3), segment=6, grad_ckpt=ckpt)
        nll.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, g in grads[0].items():
        torch.testing.assert_close(grads[1][name], g, msg=name)


def test_word_lstm_ties_one_tensor_and_keeps_it_tied_when_loaded(tmp_path):
    vocab = WordVocab.build(TEXTS, min_count=1)
    model = tiny("word-lstm", vocab_size=vocab.size)
    assert model.head.weight is model.embed.weight
    n_tied = sum(p.numel() for p in model.parameters())
    assert n_tied == sum(p.numel() for n, p in model.named_parameters() if n != "head.weight")
    save_rnn(RNNBundle(model, vocab, Conditions(), model.config), tmp_path)
    loaded = load_rnn(tmp_path).model
    assert loaded.head.weight is loaded.embed.weight
    torch.testing.assert_close(loaded.embed.weight, model.embed.weight)
    with torch.no_grad():
        loaded.embed.weight[3, 0] += 1.0
    assert loaded.head.weight[3, 0] == loaded.embed.weight[3, 0]


def test_conditioning_changes_the_next_byte_distribution():
    """Trained on two genres, a rap song is likelier under the rap condition, and vice versa."""
    pop = ["love baby dance\nnight kiss sky\n", "baby love tonight\nsweet star smile\n"] * 4
    rap = ["money block hustle\ncash grind boss\n", "block money flow\nstreet beat chain\n"] * 4
    vocab = ByteVocab()
    data = encoded(pop + rap, vocab, cond=[0] * 8 + [1] * 8)
    model = tiny("char-gru", cond_size=2)
    train_steps(model, data, 60, bptt=16, batch=8)
    model.eval()

    def nll(text, c):
        ids = vocab.encode(text)
        x = torch.tensor([[vocab.bos, *ids]])
        y = torch.tensor([[*ids, vocab.eos]])
        return model.window_nll(x, y, torch.tensor([c]), model.init_state(1))[0].item()

    assert nll(pop[0], 0) < nll(pop[0], 1)
    assert nll(rap[0], 1) < nll(rap[0], 0)
    # the very first byte already differs: the condition reaches every step, the first included
    with torch.no_grad():
        x = torch.tensor([[vocab.bos], [vocab.bos]])
        logits, _ = model(x, torch.tensor([0, 1]), model.init_state(2))
    p = torch.softmax(logits[:, 0], dim=-1)
    assert (p[0] - p[1]).abs().sum() > 0.05
