"""Whole-song scores of an RNN: what training's validation and ``lyrics_gpt2.compare`` report.

A song is read from a zero state as ``<bos> lyrics`` and scored on ``lyrics <eos>``: every byte
(or word piece) of the lyrics and the end of the song, nothing else. The word model adds the
nats of spelling its unknown pieces (see ``vocab.py``), so for every model

    bits per byte = (bits of the lyrics + bits of end-of-song) / UTF-8 bytes of the lyrics

End-of-song is charged but brings no byte of its own: a model that does not know when songs
end pays for it, and every model and GPT-2 pay for the same event.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from lyrics_gpt2.rnn.data import IGNORE, Encoded

LN2 = math.log(2)


@torch.no_grad()
def score_encoded(
    model, data: Encoded, bos: int, eos: int, batch_size: int = 32, window: int = 512
) -> np.ndarray:
    """Nats per song (float64 [songs]), unknown-piece spelling included.

    Songs of similar length are batched together; a batch runs in windows of ``window`` steps
    with the state carried across them, so memory does not grow with the song.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    lengths = data.lengths()
    nll = np.zeros(len(data), dtype=np.float64)
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        width = int(lengths[idx].max()) + 1
        x = np.zeros((len(idx), width), dtype=np.int64)
        y = np.full((len(idx), width), IGNORE, dtype=np.int64)
        for row, i in enumerate(idx):
            ids = data.song(int(i))
            x[row, : len(ids) + 1] = np.concatenate([[bos], ids])
            y[row, : len(ids) + 1] = np.concatenate([ids, [eos]])
        x_t, y_t = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
        cond = torch.from_numpy(data.cond[idx]).to(device)
        state = model.init_state(len(idx), device)
        song_nll = torch.zeros(len(idx), dtype=torch.float64, device=device)
        for s in range(0, width, window):
            logits, state = model(x_t[:, s : s + window], cond, state)
            part = torch.nn.functional.cross_entropy(
                logits.transpose(1, 2).float(),
                y_t[:, s : s + window],
                ignore_index=IGNORE,
                reduction="none",
            )
            song_nll += part.sum(dim=1, dtype=torch.float64)
        nll[idx] = song_nll.cpu().numpy()
    if was_training:
        model.train()
    return nll + data.extra_nll


def bits_per_byte(nll: np.ndarray, nbytes: np.ndarray) -> float:
    total = int(nbytes.sum())
    return float(nll.sum() / LN2 / total) if total else float("nan")
