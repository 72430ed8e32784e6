"""The RNN language models, and their folder format (config.json, model.safetensors, vocab.json).

    from lyrics_gpt2.rnn.model import load_rnn
    bundle = load_rnn("artifacts/rnn/char-lstm")      # .model, .vocab, .conditions, .config

Architectures (``RNNConfig.arch``):

- ``char-rnn``, ``char-gru``, ``char-lstm``: byte embedding -> ``layers`` stacked ``nn.RNN`` (tanh)
  / ``nn.GRU`` / ``nn.LSTM`` of ``hidden_size`` (dropout between layers) -> dropout -> linear
  output over the 258 byte ids.
- ``word-lstm``: word embedding -> ``layers`` LSTMs with variational dropout (Gal & Ghahramani):
  one mask per song window, the same at every time step, on the embeddings, on each layer's
  input, on the recurrent state h(t-1) and on the last layer's output. The last layer has
  ``embed_dim`` units so the output layer can reuse the embedding matrix (weight tying: one
  tensor, ``model.head.weight is model.embed.weight``). The recurrence is a Python loop over
  time steps (cuDNN/oneDNN kernels cannot apply a recurrent mask), hence slower per step.

Conditioning: with ``cond_size`` > 0 a one-hot vector of the song's genre or artist is
concatenated to the input of every time step.

The hidden state is a tuple of tensors whose dimension 1 is the batch, so resetting a lane
(:meth:`RNNLM.reset_state`) and detaching between TBPTT windows work the same for every arch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from lyrics_gpt2.errors import UsageError, first_line
from lyrics_gpt2.rnn.loop import detach, reset_lanes
from lyrics_gpt2.rnn.vocab import Conditions, load_vocab

ARCHS = ("char-rnn", "char-gru", "char-lstm", "word-lstm")
MODEL_TYPE = "lyrics-rnn"  # config.json marker that tells an RNN folder from a GPT-2 one
IGNORE = -100


@dataclass
class RNNConfig:
    arch: str
    vocab_size: int
    embed_dim: int = 64
    hidden_size: int = 256
    layers: int = 2
    dropout: float = 0.0
    cond_size: int = 0  # width of the condition one-hot; 0 = unconditioned

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"unknown arch {self.arch!r}; choose one of {', '.join(ARCHS)}")


class VariationalLSTM(nn.Module):
    """One LSTM layer whose recurrent input h(t-1) is multiplied by a fixed per-window mask."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, 4 * hidden_size)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size, bias=False)
        with torch.no_grad():  # forget gate open at the start: gradients flow through time
            self.ih.bias[hidden_size : 2 * hidden_size].fill_(1.0)

    def forward(self, x, h, c, rec_mask=None):
        gx = self.ih(x)  # [B, T, 4H]: the input part of every gate, one matmul for the window
        outs = []
        for t in range(x.shape[1]):
            g = gx[:, t] + self.hh(h if rec_mask is None else h * rec_mask)
            i, f, u, o = g.chunk(4, dim=-1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        return torch.stack(outs, dim=1), h, c


class RNNLM(nn.Module):
    def __init__(self, config: RNNConfig):
        super().__init__()
        self.config = c = config
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        in_dim = c.embed_dim + c.cond_size
        if c.arch == "word-lstm":
            sizes = [c.hidden_size] * (c.layers - 1) + [c.embed_dim]
            self.lstms = nn.ModuleList(
                VariationalLSTM(i, o) for i, o in zip([in_dim, *sizes[:-1]], sizes, strict=True)
            )
            self.head = nn.Linear(c.embed_dim, c.vocab_size)
            self.head.weight = self.embed.weight  # tied: one tensor for input and output
        else:
            cell = {"char-rnn": nn.RNN, "char-gru": nn.GRU, "char-lstm": nn.LSTM}[c.arch]
            self.rnn = cell(
                in_dim,
                c.hidden_size,
                num_layers=c.layers,
                dropout=c.dropout if c.layers > 1 else 0.0,
                batch_first=True,
            )
            self.drop = nn.Dropout(c.dropout)
            self.head = nn.Linear(c.hidden_size, c.vocab_size)

    # ---- state ----
    def init_state(self, batch: int, device=None) -> tuple[torch.Tensor, ...]:
        c = self.config
        if c.arch == "word-lstm":
            return tuple(
                torch.zeros(1, batch, m.hidden_size, device=device)
                for m in self.lstms
                for _ in range(2)
            )
        shape = (c.layers, batch, c.hidden_size)
        n = 2 if c.arch == "char-lstm" else 1
        return tuple(torch.zeros(shape, device=device) for _ in range(n))

    @staticmethod
    def reset_state(state, reset: torch.Tensor):
        """Zero the lanes where ``reset`` [B] is true (a new song starts there)."""
        return reset_lanes(state, reset)

    @staticmethod
    def detach_state(state):
        return detach(state)

    # ---- forward ----
    def sample_masks(self, batch: int, device=None):
        """Variational dropout masks for one window (word-lstm in training only), else None."""
        c = self.config
        if c.arch != "word-lstm" or not self.training or c.dropout <= 0:
            return None
        keep = 1.0 - c.dropout

        def mask(width):
            return torch.bernoulli(torch.full((batch, width), keep, device=device)) / keep

        masks = [mask(c.embed_dim)]  # embeddings
        for m in self.lstms:
            masks += [mask(m.hidden_size)]  # recurrent h(t-1)
        for m in self.lstms:
            masks += [mask(m.hidden_size)]  # the layer's output (next layer's input, or logits)
        return tuple(masks)

    def hidden(self, x, cond, state, masks=None):
        """Top-layer outputs [B, T, H] and the new state for inputs x [B, T], cond [B]."""
        c = self.config
        emb = self.embed(x)
        if masks is not None:
            emb = emb * masks[0][:, None, :]
        if c.cond_size:
            onehot = F.one_hot(cond, c.cond_size).to(emb.dtype)
            emb = torch.cat([emb, onehot[:, None, :].expand(-1, x.shape[1], -1)], dim=-1)
        if c.arch != "word-lstm":
            out, new = self.rnn(emb, state if c.arch == "char-lstm" else state[0])
            new = new if isinstance(new, tuple) else (new,)
            return self.drop(out), new
        n = len(self.lstms)
        out, new = emb, []
        for k, lstm in enumerate(self.lstms):
            rec = masks[1 + k] if masks is not None else None
            out, h, cc = lstm(out, state[2 * k][0], state[2 * k + 1][0], rec)
            if masks is not None:
                out = out * masks[1 + n + k][:, None, :]
            new += [h[None], cc[None]]
        return out, tuple(new)

    def forward(self, x, cond, state, masks=None):
        """Logits [B, T, V] and the new state."""
        out, state = self.hidden(x, cond, state, masks)
        return self.head(out), state

    def _segment_nll(self, x, y, cond, masks, *state):
        logits, state = self(x, cond, state, masks)
        nll = F.cross_entropy(
            logits.flatten(0, 1).float(), y.flatten(), ignore_index=IGNORE, reduction="sum"
        )
        return (nll, *state)

    def window_nll(self, x, y, cond, state, segment: int | None = None, grad_ckpt=False):
        """Summed NLL (nats) of the targets y [B, T] and the final state.

        The window is run in pieces of ``segment`` steps. With ``grad_ckpt`` each piece is a
        gradient checkpoint: only the state between pieces is kept, and the activations and
        logits of a piece are recomputed in the backward pass. Dropout masks are drawn once per
        window and the RNG is replayed on recomputation, so gradients do not change.
        """
        T = x.shape[1]
        segment = segment or T
        masks = self.sample_masks(x.shape[0], x.device)
        total = x.new_zeros((), dtype=torch.float32)
        for s in range(0, T, segment):
            args = (x[:, s : s + segment], y[:, s : s + segment], cond, masks, *state)
            if grad_ckpt and torch.is_grad_enabled():
                out = checkpoint(self._segment_nll, *args, use_reentrant=False)
            else:
                out = self._segment_nll(*args)
            total = total + out[0]
            state = tuple(out[1:])
        return total, state


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in model.parameters())


@dataclass
class RNNBundle:
    model: RNNLM
    vocab: object
    conditions: Conditions
    config: RNNConfig


def is_rnn_folder(path: str | Path) -> bool:
    try:
        return json.loads((Path(path) / "config.json").read_text()).get("model_type") == MODEL_TYPE
    except (OSError, ValueError):
        return False


def save_rnn(bundle: RNNBundle, folder: Path) -> None:
    """Write config.json, model.safetensors and vocab.json into ``folder`` (must exist)."""
    from safetensors.torch import save_model

    folder = Path(folder)
    (folder / "config.json").write_text(
        json.dumps({"model_type": MODEL_TYPE, **asdict(bundle.config)}, indent=2) + "\n"
    )
    # save_model writes a tied matrix once; load_model restores the sharing.
    save_model(bundle.model, str(folder / "model.safetensors"))
    vocab = {"vocab": bundle.vocab.to_json(), "conditions": bundle.conditions.to_json()}
    (folder / "vocab.json").write_text(json.dumps(vocab) + "\n")


def load_rnn(folder: str | Path, device: str | torch.device = "cpu") -> RNNBundle:
    """The model saved in ``folder`` (in eval mode) with its vocabulary and conditions."""
    from safetensors.torch import load_model

    folder = Path(folder)
    if not is_rnn_folder(folder):
        raise UsageError(f"{folder} holds no RNN model (config.json with model_type {MODEL_TYPE})")
    # A missing vocab.json, truncated weights or a hand-edited config: one line, not a traceback.
    try:
        raw = json.loads((folder / "config.json").read_text())
        raw.pop("model_type")
        config = RNNConfig(**raw)
        meta = json.loads((folder / "vocab.json").read_text())
        model = RNNLM(config)
        load_model(model, str(folder / "model.safetensors"), device=str(device))
        vocab, conditions = load_vocab(meta["vocab"]), Conditions(**meta["conditions"])
    except Exception as exc:  # safetensors raises its own SafetensorError, not an OSError
        raise UsageError(
            f"cannot load the RNN model in {folder} ({type(exc).__name__}: {first_line(exc)}); "
            "retrain it with lyrics_gpt2.rnn.train"
        ) from None
    model.to(device).eval()
    return RNNBundle(model, vocab, conditions, config)
