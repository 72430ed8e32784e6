"""A steered rewrite (a line's last word swapped, a section token written in) feeds only the
changed tail through the cache, and gives the logits a full prefill of the rewritten row gives
(lyrics_gpt2.inference.batch.Batch, on a config-built GPT-2 with random weights)."""

from __future__ import annotations

import pytest
import torch

from lyrics_gpt2.inference import batch as batch_module
from lyrics_gpt2.inference.batch import Batch
from lyrics_gpt2.inference.params import Row, Sampling


class Rewriter:
    """Steering stand-in: every ``every``-th token, take back ``back`` tokens and write
    ``write`` others in their place (what the rhyme and form steering do to a row)."""

    def __init__(self, every: int, back: int, write: list[int]):
        self.every, self.back, self.write, self.n = every, back, write, 0

    def before(self, logits, row) -> None:
        pass

    def after(self, row, token: int) -> bool:
        row.new.append(token)
        self.n += 1
        if self.n % self.every or len(row.new) <= self.back:
            return False
        del row.new[len(row.new) - self.back :]
        row.new.extend(self.write)
        return True


def _model(window: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=60, n_positions=window)
    return GPT2LMHeadModel(config).eval()


def _rows() -> list[Row]:
    cfg = Sampling(max_new_tokens=40, repetition_penalty=1.1)
    steering = [Rewriter(5, 2, [7, 8, 9]), Rewriter(7, 0, [11, 12]), None, Rewriter(6, 20, [3])]
    prompts = [[1], [2, 30, 31], [1, 40], [2]]
    return [
        Row(p, cfg, torch.Generator().manual_seed(i), control=c)
        for i, (p, c) in enumerate(zip(prompts, steering, strict=True))
    ]


@pytest.mark.parametrize("window", [64, 24])  # 24: rows also slide past the window
def test_a_rewritten_rows_tail_gives_the_logits_of_a_full_prefill(monkeypatch, window):
    model = _model(window)
    fed, prefilled = Batch(model, 0, 0), Batch(model, 0, 0)
    fed_rows, prefilled_rows = _rows(), _rows()
    fed.add(fed_rows)
    prefilled.add(prefilled_rows)
    tails = 0
    while fed.rows:
        widths = [len(h) for h in fed.held]
        fed.step()
        tails += sum(len(h) - w > 1 for h, w in zip(fed.held, widths, strict=False))
        monkeypatch.setattr(batch_module, "MAX_REWIND", 0)  # the other batch: full prefills
        prefilled.step()
        monkeypatch.setattr(batch_module, "MAX_REWIND", 16)
        assert [r.new for r in fed_rows] == [r.new for r in prefilled_rows]
        # A prefilled row rejoins at the end of its batch: compare row by row.
        for a, b in zip(fed_rows, prefilled_rows, strict=True):
            if not a.done:
                i, j = fed.rows.index(a), prefilled.rows.index(b)
                assert torch.allclose(fed.logits[i], prefilled.logits[j], atol=1e-5)
    assert not prefilled.rows
    assert tails > 0  # the tail path really ran
    # Row 4 takes back 20 tokens, more than a rewind may: it is prefilled (and still equal).
    assert fed_rows[3].new == prefilled_rows[3].new
