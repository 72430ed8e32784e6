"""Token-weighted scoring of songs, shared by training's validation and the perplexity command.

A song's score is the summed negative log-likelihood (nats) of its target tokens: every position
whose label is not IGNORE_INDEX (lyrics and end-of-text; never padding, never the token at
position 0). Means are taken over tokens, not batches, so a short last batch or an uneven split
across processes cannot skew them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lyrics_gpt2.data import IGNORE_INDEX


@dataclass
class SongScores:
    """Per-song sums, in the order the dataloader yielded the songs (gathered across processes)."""

    nll: np.ndarray  # float64 [songs]: summed NLL in nats over the song's target tokens
    tokens: np.ndarray  # int64 [songs]: number of target tokens
    index: np.ndarray | None = None  # int64 [songs]: the batch's "index" entries, when given

    @property
    def mean_nll(self) -> float:
        """NLL per target token (nats), i.e. the validation loss."""
        total = int(self.tokens.sum())
        return float(self.nll.sum() / total) if total else float("nan")

    @property
    def perplexity(self) -> float:
        return math.exp(self.mean_nll)

    def subset(self, mask: np.ndarray) -> SongScores:
        index = None if self.index is None else self.index[mask]
        return SongScores(self.nll[mask], self.tokens[mask], index)


def song_nll(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed NLL and target count per row.

    logits [B, T, V] predict the next token, labels [B, T] are the inputs with IGNORE_INDEX on
    non-targets; position t's logits are scored against label t+1.
    """
    targets = labels[:, 1:]
    nll = F.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(),
        targets.flatten(),
        ignore_index=IGNORE_INDEX,
        reduction="none",
    ).view(targets.shape)
    return nll.sum(dim=1, dtype=torch.float64), (targets != IGNORE_INDEX).sum(dim=1)


@torch.no_grad()
def score_songs(model, batches: Iterable[dict[str, torch.Tensor]], accelerator=None) -> SongScores:
    """Score every song the batches hold.

    With an ``accelerator`` the batches come from a prepared dataloader; per-song results are
    gathered with ``gather_for_metrics`` so the duplicates that pad an uneven last step are dropped.
    A batch may carry an ``index`` tensor (e.g. row numbers) that is returned alongside.
    """
    was_training = model.training
    model.eval()
    nlls, counts, indices = [], [], []
    device = next(model.parameters()).device
    for batch in batches:
        batch = dict(batch)
        index = batch.pop("index", None)
        if accelerator is None:
            batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        nll, count = song_nll(logits, batch["labels"])
        if accelerator is not None:
            nll, count = accelerator.gather_for_metrics((nll, count))
            if index is not None:
                index = accelerator.gather_for_metrics(index)
        nlls.append(nll.cpu())
        counts.append(count.cpu())
        if index is not None:
            indices.append(index.cpu())
    if was_training:
        model.train()
    if not nlls:
        return SongScores(np.zeros(0), np.zeros(0, dtype=np.int64))
    return SongScores(
        torch.cat(nlls).numpy(),
        torch.cat(counts).numpy().astype(np.int64),
        torch.cat(indices).numpy().astype(np.int64) if indices else None,
    )
