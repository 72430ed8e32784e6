"""The piano-roll LSTM, its TBPTT windows, and its folder format (config.json, model.safetensors).

    from lyrics_gpt2.music.model import load_music
    model = load_music("artifacts/music/bach")        # model.config: pitch range, grid, sizes

The model reads frame t-1 of a roll (a 0/1 vector over the pitch range; a silent frame before
the first) and gives, for frame t, one logit per pitch: the pitches are independent Bernoulli
variables given the past (sigmoid outputs, multi-label), not one softmax choice. Its loss is
binary cross-entropy summed over the pitches of a frame and averaged over frames (nats per
frame, the unit of the published frame-level figures). Layers: ``layers`` stacked ``nn.LSTM``
of ``hidden_size`` (dropout between layers) -> dropout -> linear to the pitches, plus a linear
map from the input frame itself to the logits (a skip path, initialised to repeat the input
frame with probability 0.95). A meter-conditioned model (``config.meters``) also reads a one-hot
of the tune's bar length at every step.

Windows (:class:`RollPlan`) reuse the lyric RNNs' lane layout (``lyrics_gpt2.rnn.data.WindowPlan``):
each lane plays one tune after another in windows of ``bptt`` frames, the state carried between
a tune's windows and zeroed where a tune starts.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from lyrics_gpt2.errors import UsageError, first_line
from lyrics_gpt2.rnn.data import WindowPlan

MODEL_TYPE = "music-lstm"  # config.json marker


@dataclass
class MusicConfig:
    low: int  # lowest MIDI pitch of the roll (column 0)
    high: int  # highest MIDI pitch (last column)
    steps_per_quarter: int  # the grid: 4 = sixteenth notes, 2 = eighths, 1 = quarters
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.2
    corpus: str = ""  # where the training tunes came from (a corpus name or a folder)
    # Meter conditioning: the bar lengths (quarter notes) of the training tunes; empty = none.
    meters: list[float] = field(default_factory=list)

    @property
    def pitches(self) -> int:
        return self.high - self.low + 1

    @property
    def cond_size(self) -> int:
        """Width of the meter one-hot: one slot per training meter and one for any other."""
        return len(self.meters) + 1 if self.meters else 0

    def meter_index(self, bar: float) -> int:
        """The one-hot slot of a bar length (the last slot: a meter not seen in training)."""
        return self.meters.index(bar) if bar in self.meters else len(self.meters)


class RollLSTM(nn.Module):
    def __init__(self, config: MusicConfig):
        super().__init__()
        self.config = c = config
        self.lstm = nn.LSTM(
            c.pitches + c.cond_size,
            c.hidden_size,
            num_layers=c.layers,
            dropout=c.dropout if c.layers > 1 else 0.0,
            batch_first=True,
        )
        self.drop = nn.Dropout(c.dropout)
        self.head = nn.Linear(c.hidden_size, c.pitches)
        # Input frame straight to the logits, starting as "hold the keys that sound now"
        # (p = 0.95 for a key that sounds, 0.05 for one that does not): that is most of what a
        # sixteenth-note roll does next, so training starts near the repeat baseline instead
        # of spending its first hundreds of steps finding it.
        self.skip = nn.Linear(c.pitches, c.pitches)
        with torch.no_grad():
            logit = math.log(0.95 / 0.05)
            self.skip.weight.copy_(torch.eye(c.pitches) * 2 * logit)
            self.skip.bias.fill_(-logit)
            self.head.bias.zero_()

    def init_state(self, batch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (self.config.layers, batch, self.config.hidden_size)
        return torch.zeros(shape, device=device), torch.zeros(shape, device=device)

    def forward(self, x: torch.Tensor, state, cond: torch.Tensor | None = None):
        """Logits [B, T, P] for inputs x [B, T, P] (0/1 floats) and, for a meter-conditioned
        model, each lane's meter slot cond [B]; and the new state."""
        inputs = x
        if self.config.cond_size:
            if cond is None:
                raise ValueError("a meter-conditioned model needs cond [B]")
            onehot = F.one_hot(cond, self.config.cond_size).to(x.dtype)
            inputs = torch.cat([x, onehot[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        out, state = self.lstm(inputs, state)
        return self.head(self.drop(out)) + self.skip(x), state

    def window_nll(self, x, y, valid, state, cond=None):
        """Summed BCE (nats) over pitches and the valid frames ([B, T] bool), and the state."""
        logits, state = self(x, state, cond)
        bce = F.binary_cross_entropy_with_logits(logits.float(), y, reduction="none").sum(-1)
        return (bce * valid).sum(), state


class RollPlan(WindowPlan):
    """Lanes of tunes for one epoch; targets are a tune's frames (no end-of-tune event).
    ``cond`` [tunes] is each tune's meter slot (zeros for an unconditioned model)."""

    def __init__(self, data, batch, bptt, seed, epoch, cond: np.ndarray | None = None):
        super().__init__(data, batch, bptt, seed, epoch)
        self.cond = np.zeros(len(data), dtype=np.int64) if cond is None else cond

    @staticmethod
    def targets(data) -> np.ndarray:
        return data.lengths()

    def roll_window(self, step: int):
        """x, y [B, T, P] float32, valid [B, T] bool, reset [B] bool, cond [B] int64."""
        B, T, P = self.batch, self.bptt, self.data.frames.shape[1]
        x = np.zeros((B, T, P), dtype=np.float32)
        y = np.zeros((B, T, P), dtype=np.float32)
        valid = np.zeros((B, T), dtype=bool)
        reset = np.ones(B, dtype=bool)
        cond = np.zeros(B, dtype=np.int64)
        for b in range(B):
            tune, off = int(self.song[b, step]), int(self.offset[b, step])
            if tune < 0:  # the lane has run out of tunes: an idle window
                continue
            cond[b] = self.cond[tune]
            frames = self.data.tune(tune)
            targets = frames[off : off + T]
            n = len(targets)
            y[b, :n] = targets
            # Input of frame t is frame t-1; the first frame of a tune follows silence.
            if off == 0:
                x[b, 1:n] = frames[: n - 1]
            else:
                x[b, :n] = frames[off - 1 : off + n - 1]
            valid[b, :n] = True
            reset[b] = off == 0
        return x, y, valid, reset, cond


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def save_music(model: RollLSTM, folder: Path) -> None:
    """Write config.json and model.safetensors into ``folder`` (must exist)."""
    from safetensors.torch import save_model

    folder = Path(folder)
    save_model(model, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(
        json.dumps({"model_type": MODEL_TYPE, **asdict(model.config)}, indent=2) + "\n"
    )


def load_music(folder: str | Path, device: str | torch.device = "cpu") -> RollLSTM:
    """The music model saved in ``folder``, in eval mode."""
    from safetensors.torch import load_model

    folder = Path(folder)
    try:
        raw = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError):
        raw = {}
    if raw.get("model_type") != MODEL_TYPE:
        raise UsageError(
            f"{folder} holds no music model (config.json with model_type {MODEL_TYPE}); "
            "train one with python -m lyrics_gpt2.music.train"
        )
    raw.pop("model_type")
    try:  # truncated weights, a hand-edited config: one line, not a traceback
        model = RollLSTM(MusicConfig(**raw))
        load_model(model, str(folder / "model.safetensors"), device=str(device))
    except Exception as exc:  # safetensors raises its own SafetensorError, not an OSError
        raise UsageError(
            f"cannot load the music model in {folder} ({type(exc).__name__}: {first_line(exc)}); "
            "retrain it with python -m lyrics_gpt2.music.train"
        ) from None
    return model.to(device).eval()
