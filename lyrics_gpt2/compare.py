"""GPT-2 and RNN lyric models side by side: bits per byte on the same validation songs and bytes.

    python -m lyrics_gpt2.compare --data-dir artifacts/data --models artifacts/model artifacts/rnn/*
    python -m lyrics_gpt2.compare --data-dir artifacts/data --models artifacts/model --json cmp.json

``--models`` takes GPT-2 folders (a Hugging Face folder: config.json, weights, tokenizer) and RNN
folders (``lyrics_gpt2.rnn.train``) alike. A GPT-2 folder whose ``summary.json`` names its
untuned starting point (``base_model``: a folder, or a hub id already in the local cache) brings
that base in as a second row.

What is scored. The validation songs of ``DATA/tokenized`` with their text from ``DATA/chunks``
(the clean lyrics, not a decoding of the 300-token training rows), every model on the same UTF-8
bytes:

    bits per byte = (bits of the lyrics + bits of end-of-song) / UTF-8 bytes of the lyrics

End-of-song is one more event every model must predict (GPT-2's ``<|endoftext|>``, the RNNs'
``<eos>``); it is charged but has no byte of its own. GPT-2 reads ``[Genre: X] lyrics
<|endoftext|>`` and scores the lyric tokens and end-of-text over the WHOLE song: a song longer
than the model's context is scored in windows, each with the genre token in front, the first
window scoring all its tokens and each next one scoring the next half-context of new tokens with
the previous half as context. A base without the genre tokens reads ``<|endoftext|>`` in their
place. RNNs read ``<bos>`` and the song's own condition (genre, or artist; validation artists
never occur in training, so an artist model sees them all as "other"); the word model also pays
for spelling its unknown words. Intervals: 95% percentile bootstrap over songs (the same
resamples for every model). Each model also writes one sample (temperature 0.8).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lyrics_gpt2.cli import ArgumentParser, run
from lyrics_gpt2.errors import UsageError
from lyrics_gpt2.evaluation.summary import bootstrap_ratio
from lyrics_gpt2.fileio import check_inputs, check_output, read_json, write_json
from lyrics_gpt2.genres import GENRE_TOKENS
from lyrics_gpt2.inference.onednn import load_for_inference
from lyrics_gpt2.modeling import (
    add_device_flag,
    base_from_summary,
    pick_device,
    quiet_transformers,
)
from lyrics_gpt2.rnn.data import Song, encode_songs, load_splits
from lyrics_gpt2.rnn.generate import sample_songs
from lyrics_gpt2.rnn.model import count_parameters, is_rnn_folder, load_rnn
from lyrics_gpt2.rnn.scoring import LN2, score_encoded
from lyrics_gpt2.tokenizer import load_tokenizer

TEMPERATURE = 0.8
SAMPLE_BYTES = 300


def load_gpt2(path: str | Path, device, tokenizer_path: str | Path | None = None):
    """(model, tokenizer) of a Hugging Face folder or cached hub id, through the project's one
    loader (damaged weights named, one-line errors). The tokenizer comes from ``tokenizer_path``
    when given (an untuned copy saved without one)."""
    quiet_transformers()
    return load_for_inference(path, device), load_tokenizer(tokenizer_path or path)


@torch.no_grad()
def gpt2_song_nll(model, tokenizer, songs: Sequence[Song], batch_size: int = 8) -> np.ndarray:
    """Nats per song of lyric tokens + end-of-text, whole songs, in windows of the context."""
    eos = tokenizer.eos_token_id
    vocab = model.get_input_embeddings().num_embeddings
    n_ctx = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
    width = n_ctx - 1  # tokens after the genre token
    stride = max(1, width // 2)
    windows = []  # (song, input ids, how many leading targets are context only)
    for i, song in enumerate(songs):
        ids = tokenizer(song.lyrics, add_special_tokens=False)["input_ids"]
        if tokenizer.decode(ids, clean_up_tokenization_spaces=False) != song.lyrics:
            raise UsageError(
                f"the tokenizer of {model.name_or_path} does not give song {song.id} back "
                "byte for byte, so its bits per byte would be of another text"
            )
        first = tokenizer.convert_tokens_to_ids(GENRE_TOKENS.get(song.genre, ""))
        if first is None or first == tokenizer.unk_token_id or first >= vocab:
            first = eos  # a base without genre tokens starts from <|endoftext|>
        ids = [*ids, eos]
        done, start = 0, 0
        while done < len(ids):
            piece = ids[start : start + width]
            windows.append((i, [first, *piece], done - start))
            done = start + len(piece)
            start = done - (width - stride)
    nll = np.zeros(len(songs), dtype=np.float64)
    device = next(model.parameters()).device
    windows.sort(key=lambda w: -len(w[1]))
    for b in range(0, len(windows), batch_size):
        part = windows[b : b + batch_size]
        longest = max(len(w[1]) for w in part)
        x = torch.full((len(part), longest), eos, dtype=torch.long)
        y = torch.full((len(part), longest), -100, dtype=torch.long)
        for row, (_, ids, skip) in enumerate(part):
            x[row, : len(ids)] = torch.tensor(ids)
            # position j predicts ids[j + 1]; the first 1 + skip inputs are context only
            y[row, skip : len(ids) - 1] = torch.tensor(ids[1 + skip :])
        mask = (
            torch.arange(longest)[None] < torch.tensor([len(w[1]) for w in part])[:, None]
        ).long()
        logits = model(input_ids=x.to(device), attention_mask=mask.to(device)).logits
        loss = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2).float(), y.to(device), ignore_index=-100, reduction="none"
        ).sum(dim=1, dtype=torch.float64)
        for row, (i, _, _) in enumerate(part):
            nll[i] += float(loss[row])
    return nll


@torch.no_grad()
def gpt2_sample(model, tokenizer, genre: str, seed: int) -> str:
    first = tokenizer.convert_tokens_to_ids(GENRE_TOKENS.get(genre, ""))
    vocab = model.get_input_embeddings().num_embeddings
    if first is None or first == tokenizer.unk_token_id or first >= vocab:
        first = tokenizer.eos_token_id
    n_ctx = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
    torch.manual_seed(seed)
    out = model.generate(
        input_ids=torch.tensor([[first]], device=next(model.parameters()).device),
        attention_mask=torch.ones(1, 1, dtype=torch.long, device=next(model.parameters()).device),
        do_sample=True,
        temperature=TEMPERATURE,
        top_k=0,
        max_new_tokens=min(SAMPLE_BYTES // 2, n_ctx - 1),
        pad_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return tokenizer.decode(out[0, 1:], skip_special_tokens=True)[:SAMPLE_BYTES]


def breakdown(nll, songs, nbytes, n_boot, seed) -> dict:
    """{"all": ..., genre: ...} bits per byte with the project's one bootstrap interval
    (lyrics_gpt2.evaluation.summary.bootstrap_ratio): resamples depend only on the seed and the
    songs, not the model, so the models' intervals are paired."""
    genres = np.array([s.genre for s in songs])
    groups = {"all": np.ones(len(songs), dtype=bool)}
    groups.update({g: genres == g for g in sorted(set(genres))})
    out = {}
    for name, mask in groups.items():
        bits, size = nll[mask] / LN2, nbytes[mask]
        ci = bootstrap_ratio(bits, size, n_boot, seed)
        out[name] = {
            "songs": int(mask.sum()),
            "bytes": int(size.sum()),
            "bits_per_byte": float(bits.sum() / size.sum()),
            "ci95": list(ci) if ci else None,
        }
    return out


def score_model(path: Path, songs: list[Song], device, seed: int) -> list[dict]:
    """Rows for one --models entry: the model, plus its untuned base for a GPT-2 fine-tune."""
    summary = read_json(path / "summary.json") or {}
    if is_rnn_folder(path):
        bundle = load_rnn(path, device)
        data = encode_songs(songs, bundle.vocab, bundle.conditions)
        nll = score_encoded(bundle.model, data, bundle.vocab.bos, bundle.vocab.eos)
        cond = bundle.conditions
        label = f"{bundle.config.arch}" + (f" | {cond.kind}" if cond.kind != "none" else "")
        # condition 0: the first genre, or the artist model's most frequent artist
        sample = sample_songs(bundle, 0, "", TEMPERATURE, 1, seed, SAMPLE_BYTES)[0][:SAMPLE_BYTES]
        return [
            {
                "model": str(path),
                "kind": label,
                "parameters": count_parameters(bundle.model),
                "train_time_s": summary.get("train_time_s"),
                "epochs": summary.get("epochs"),
                "nll": nll,
                "sample": sample,
            }
        ]
    if not (path / "config.json").is_file():
        raise UsageError(f"{path} is neither an RNN nor a Hugging Face model folder")
    model, tokenizer = load_gpt2(path, device)
    genre = sorted({s.genre for s in songs})[0]
    rows = [
        {
            "model": str(path),
            "kind": "gpt2 (tuned)",
            "parameters": sum(p.numel() for p in model.parameters()),
            "train_time_s": summary.get("train_time_s"),
            "epochs": summary.get("epochs"),
            "nll": gpt2_song_nll(model, tokenizer, songs),
            "sample": gpt2_sample(model, tokenizer, genre, seed),
        }
    ]
    try:
        # Resolved as the perplexity command does: relative to the model folder, fingerprint checked.
        base = base_from_summary(path)
        base_model = load_gpt2(base, device, tokenizer_path=path)[0] if base else None
    except UsageError as exc:
        print(f"skipping the base of {path}: {exc}", file=sys.stderr)
        base_model = None
    if base_model is not None:
        rows.append(
            {
                "model": str(base),
                "kind": "gpt2 (base)",
                "parameters": sum(p.numel() for p in base_model.parameters()),
                "train_time_s": None,
                "epochs": None,
                "nll": gpt2_song_nll(base_model, tokenizer, songs),
                "sample": gpt2_sample(base_model, tokenizer, genre, seed),
            }
        )
    return rows


def compare(
    data_dir, models, n_boot: int = 1000, seed: int = 0, max_songs=None, device="cpu"
) -> dict:
    songs = load_splits(data_dir)["validation"][:max_songs]
    if not songs:
        raise UsageError(f"no validation songs in {data_dir}")
    nbytes = np.array([len(s.lyrics.encode("utf-8")) for s in songs], dtype=np.int64)
    rows = []
    for path in models:
        for row in score_model(Path(path), songs, pick_device(device), seed):
            nll = row.pop("nll")
            row["per_song_nats"] = nll.tolist()
            row["bits_per_byte"] = breakdown(nll, songs, nbytes, n_boot, seed)
            rows.append(row)
    return {
        "data_dir": str(data_dir),
        "songs": len(songs),
        "bytes": int(nbytes.sum()),
        "song_ids": [s.id for s in songs],
        "scored": "(bits of the lyrics + bits of end-of-song) / UTF-8 bytes of the lyrics",
        "bootstrap": n_boot,
        "models": rows,
    }


def render(result: dict) -> str:
    groups = list(result["models"][0]["bits_per_byte"]) if result["models"] else []
    lines = [
        f"Bits per byte on {result['songs']} validation songs ({result['bytes']:,} bytes) of "
        f"{result['data_dir']}; scored: {result['scored']}",
        "",
        f"{'model':<20}{'kind':<20}{'params':>10}{'train min':>10}{'epochs':>7}"
        + "".join(f"{g:>24}" for g in groups),
    ]
    for row in result["models"]:
        t, epochs = row["train_time_s"], row["epochs"]
        cells = ""
        for g in groups:
            s = row["bits_per_byte"][g]
            ci = f" [{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]" if s["ci95"] else ""
            cells += f"{s['bits_per_byte']:>8.3f}{ci:>16}"
        name = Path(row["model"]).name or row["model"]
        lines.append(
            f"{name[:19]:<20}{row['kind']:<20}{row['parameters']:>10,}"
            f"{(f'{t / 60:.1f}' if t else '-'):>10}{(f'{epochs:.2f}' if epochs else '-'):>7}{cells}"
        )
    lines.append("")
    for row in result["models"]:
        text = " / ".join(line for line in row["sample"].splitlines() if line.strip())
        lines.append(f"sample, {Path(row['model']).name} ({row['kind']}): {text[:160]}")
    return "\n".join(lines) + "\n"


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="python -m lyrics_gpt2.compare", description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", type=Path, default=Path("artifacts/data"), help="(%(default)s)")
    p.add_argument("--models", type=Path, nargs="+", required=True, help="model folders")
    p.add_argument("--json", type=Path, default=None, help="also write the results here")
    p.add_argument("--bootstrap", type=int, default=1000, help="resamples, 0 = off (%(default)s)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap and sample seed")
    p.add_argument("--max-songs", type=int, default=None, help="only the first N songs")
    add_device_flag(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    device = pick_device(args.device)
    if args.bootstrap < 0:
        raise UsageError(f"--bootstrap must be >= 0 (got {args.bootstrap})")
    if args.max_songs is not None and args.max_songs < 1:
        raise UsageError(f"--max-songs must be >= 1 (got {args.max_songs})")
    for path in args.models:
        if not path.is_dir():
            raise UsageError(f"no model folder at {path}")
    if args.json:
        check_output(args.json, flag="--json")
        inputs = [("--data-dir", args.data_dir), *(("--models", m) for m in args.models)]
        check_inputs([("--json", args.json)], inputs)
    result = compare(args.data_dir, args.models, args.bootstrap, args.seed, args.max_songs, device)
    sys.stdout.write(render(result))
    if args.json:
        write_json(args.json, result)
        print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(run(main))
