"""Token-weighted scoring of songs, shared by training's validation and the perplexity command.

A song's score is the summed negative log-likelihood (nats) of its target tokens: every position
whose label is not IGNORE_INDEX (lyrics and end-of-text; never padding, never the token at
position 0, never an artist token: lyrics_gpt2.data.collate masks it). Means are taken over tokens, not batches, so a short last batch or an uneven split
across processes cannot skew them.

Songs and rows. Stage tokenize may cut a long song into several rows (pieces: columns ``id`` and
``piece``, every piece starting with the genre token, only the last ending with end-of-text).
Every row is scored on its own; :func:`song_groups` says which song each row belongs to, and
:meth:`SongScores.by_song` sums a song's rows, so per-song figures (counts, the bootstrap over
songs) treat a song as one unit however many rows it took. Without a ``piece`` column every row
is its own song.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lyrics_gpt2.data import IGNORE_INDEX
from lyrics_gpt2.evaluation.lm_loss import DEFAULT_CHUNK, final_hidden, sliced_nll


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

    def by_song(self, groups: np.ndarray) -> SongScores:
        """Rows summed per song: ``groups[i]`` is row i's song number (0..songs-1, as
        :func:`song_groups` gives). Token-weighted means are unchanged; counts become songs."""
        groups = np.asarray(groups, dtype=np.int64)
        if len(groups) != len(self.nll):
            raise ValueError(f"{len(groups)} song numbers for {len(self.nll)} scored rows")
        n = int(groups.max()) + 1 if len(groups) else 0
        nll = np.bincount(groups, weights=self.nll, minlength=n)
        tokens = np.bincount(groups, weights=self.tokens, minlength=n).astype(np.int64)
        return SongScores(nll, tokens)


def song_groups(ids: Sequence[str], pieces: bool) -> np.ndarray:
    """Song number of each row (by its ``id``), numbered in order of first appearance.

    ``pieces``: the data has a ``piece`` column, so rows sharing an ``id`` are one song; without
    it every row is its own song (data written before songs were cut into pieces).
    """
    if not pieces:
        return np.arange(len(ids), dtype=np.int64)
    _, first, inverse = np.unique(np.asarray(ids), return_index=True, return_inverse=True)
    # np.unique numbers songs in sorted-id order; renumber them in order of first appearance.
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


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
def score_songs(
    model,
    batches: Iterable[dict[str, torch.Tensor]],
    accelerator=None,
    chunk: int = DEFAULT_CHUNK,
) -> SongScores:
    """Score every song the batches hold.

    The output layer runs over ``chunk`` positions at a time (lyrics_gpt2.evaluation.lm_loss), so a batch's
    whole logits tensor (920 MB for 16 x 300 positions of GPT-2's vocabulary) never exists.

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
        hidden, head = final_hidden(model, batch["input_ids"], batch["attention_mask"])
        labels = batch["labels"]
        nll = sliced_nll(hidden, head, labels, chunk).sum(dim=1, dtype=torch.float64)
        count = (labels[:, 1:] != IGNORE_INDEX).sum(dim=1)
        del hidden
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
