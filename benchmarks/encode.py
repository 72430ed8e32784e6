"""Speed and memory of the tokenize stage on synthetic chunks.

    python benchmarks/encode.py                                     # 100k songs, 8 chunks, GPT-2 BPE
    python benchmarks/encode.py --songs 200000 --chunks 16 --tokenizer bpe:8000
    python benchmarks/encode.py --songs 20000 --chunks 4         # a quick before/after check

Imports the installed package (``make setup`` installs it editable), never a path of its own.

Writes ``--songs`` synthetic songs (~1.5 KB of lyrics each, pop and rap, stanzas and section
headers) into chunk files shaped like stage 1's, once (cached under ``--work-dir``), then runs
``python -m pipeline.preprocess --stages tokenize --force`` in this process and prints tokens/s,
songs/s and the peak RSS of this process and its worker processes together (psutil, sampled every
50 ms), with the load average: the machine may be shared, so read the figures with it. Then, side
by side on the same songs: the HF (Rust) tokenizer alone, batched on all cores (the reference and
the path of ``bpe:N``), and the encoder the stage uses (tiktoken for GPT-2's BPE) alone.
Targets: >= 2M tokens/s (whole stage) and <= 2 GB peak RSS on >= 100k songs with 2 workers.

The synthetic corpus's chunks are the more realistic input (real lengths, long songs split):

    python -m pipeline.synth --rows 100000 --seed 1 --out artifacts/bench-synth.csv
    python -m pipeline.preprocess --stages chunks --input artifacts/bench-synth.csv \
        --output-dir artifacts/bench-tokenize-synth
    python benchmarks/encode.py --work-dir artifacts/bench-tokenize-synth --reuse-chunks
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import sys
import threading
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
HEADERS = ("[Verse 1]", "[Verse 2]", "[Chorus]", "[Hook]", "[Bridge]", "[Intro]", "[Outro]")


def _words() -> list[str]:
    try:
        from wordfreq import top_n_list

        return [w for w in top_n_list("en", 3000) if w.isalpha()]
    except ImportError:
        base = "love baby night heart money street girl yeah know never gonna feel like time"
        return (base + " away world fire dream cold rain light hold back down tonight").split()


def synthetic_song(rng: random.Random, words: list[str], target_chars: int) -> str:
    """Lyrics of about ``target_chars`` characters: stanzas under headers, a repeated chorus."""
    chorus = [
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 9))).capitalize() for _ in range(4)
    ]
    stanzas, size = [], 0
    while size < target_chars:
        if rng.random() < 0.3:
            lines = ["[Chorus]", *chorus]
        else:
            lines = [rng.choice(HEADERS)] + [
                " ".join(rng.choice(words) for _ in range(rng.randint(4, 10))).capitalize()
                for _ in range(rng.randint(4, 8))
            ]
        stanza = "\n".join(lines)
        stanzas.append(stanza)
        size += len(stanza) + 2
    return "\n\n".join(stanzas)


def write_chunks(out_dir: Path, songs: int, chunks: int, seed: int = 0) -> Path:
    """Write ``songs`` synthetic songs into ``out_dir/chunks`` (skipped when already there)."""
    chunk_dir = out_dir / "chunks"
    stamp = {"songs": songs, "chunks": chunks, "seed": seed, "generator": 1}
    manifest = chunk_dir / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("synthetic") == stamp:
        return chunk_dir
    chunk_dir.mkdir(parents=True, exist_ok=True)
    for old in chunk_dir.glob("chunk-*.parquet"):
        old.unlink()
    rng = random.Random(seed)
    words = _words()
    artists = {
        g: [f"{g.title()} Artist {i}" for i in range(max(2, songs // 40))] for g in ("pop", "rap")
    }
    per_chunk = -(-songs // chunks)
    song_id = 0
    for c in range(chunks):
        rows: dict[str, list] = {k: [] for k in ("id", "title", "artist", "tag", "lyrics")}
        for _ in range(min(per_chunk, songs - song_id)):
            tag = "pop" if rng.random() < 0.55 else "rap"
            # Log-normal around 1.5 KB: a few songs fall outside the 20-400 token window.
            chars = int(min(8000, max(40, rng.lognormvariate(7.2, 0.45))))
            rows["id"].append(str(song_id))
            rows["title"].append(f"Song {song_id}")
            rows["artist"].append(rng.choice(artists[tag]))
            rows["tag"].append(tag)
            rows["lyrics"].append(synthetic_song(rng, words, chars))
            song_id += 1
        pq.write_table(pa.table(rows), chunk_dir / f"chunk-{c:02d}.parquet")
    manifest.write_text(json.dumps({"synthetic": stamp, "chunks": chunks, "songs": songs}))
    return chunk_dir


class PeakRSS:
    """Sample the RSS of this process plus all its children; keep the largest sum."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += proc.memory_info().rss
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def first_songs(chunk_paths: list[Path], songs: int) -> list[str]:
    texts: list[str] = []
    for path in chunk_paths:
        texts += pq.read_table(path, columns=["lyrics"])["lyrics"].drop_null().to_pylist()
        if len(texts) >= songs:
            break
    return texts[:songs]


def tokenizer_alone(tokenizer_json: Path, texts: list[str]) -> tuple[float, float]:
    """Tokens/s of the batched HF (Rust) tokenizer by itself (all cores) on ``texts``, per wall
    second and per CPU second."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    t, cpu = time.perf_counter(), cpu_seconds()
    tokens = 0
    for i in range(0, len(texts), 1000):
        tokens += sum(len(e) for e in tok.encode_batch_fast(texts[i : i + 1000]))
    return tokens / (time.perf_counter() - t), tokens / (cpu_seconds() - cpu)


def encoder_alone(tokenizer_json: Path, texts: list[str], threads: int) -> tuple[str, float]:
    """Tokens/s of the stage's encoder (``lyrics_gpt2.tokenizer.Encoder``) by itself, batched on
    ``threads`` threads (tiktoken releases the GIL), and which one it is."""
    from lyrics_gpt2.tokenizer import Encoder

    enc = Encoder(tokenizer_json)
    t = time.perf_counter()
    tokens = 0
    for i in range(0, len(texts), 1000):
        batch = texts[i : i + 1000]
        if enc.kind == "tiktoken":
            ids = enc._tiktoken.encode_ordinary_batch(batch, num_threads=threads)
        else:
            ids = enc.encode_batch(batch)
        tokens += sum(len(x) for x in ids)
    return enc.kind, tokens / (time.perf_counter() - t)


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--tokenizer", default=str(REPO / "artifacts" / "gpt2-tokenizer"), help="as in the stage"
    )
    parser.add_argument("--work-dir", type=Path, default=REPO / "artifacts" / "bench-tokenize")
    parser.add_argument("--reuse-chunks", action="store_true", help="use the chunks already there")
    parser.add_argument("--long-songs", choices=("split", "drop"), default="split")
    args = parser.parse_args()

    if args.tokenizer.endswith("gpt2-tokenizer") and not Path(args.tokenizer).is_dir():
        from lyrics_gpt2 import gpt2_vocab

        gpt2_vocab.build(args.tokenizer)
    if not args.reuse_chunks:
        t = time.perf_counter()
        write_chunks(args.work_dir, args.songs, args.chunks)
        print(f"chunks ready in {time.perf_counter() - t:.1f}s")

    from pipeline import preprocess

    load_before = os.getloadavg()
    argv = [
        "--stages", "tokenize", "--force", "--quiet",
        "--output-dir", str(args.work_dir),
        "--tokenizer", args.tokenizer,
        "--workers", str(args.workers),
        "--long-songs", args.long_songs,
    ]  # fmt: skip
    with PeakRSS() as rss:
        t, cpu = time.perf_counter(), cpu_seconds()
        preprocess.main(argv)
        wall, cpu = time.perf_counter() - t, cpu_seconds() - cpu
    manifest = json.loads((args.work_dir / "tokenized" / "manifest.json").read_text())
    tokens = manifest["throughput"]["tokens_tokenized"]
    songs = sum(c["read"] for c in manifest["counts"]["per_genre"].values())
    print(
        f"songs {songs}, chunks {manifest['inputs']['chunks']}, workers {args.workers}, "
        f"tokenizer {args.tokenizer}"
    )
    print(f"lyrics tokens {tokens:,}  ({tokens / max(songs, 1):.0f} per song)")
    print(f"stage wall time {wall:.1f}s  (timings {manifest['timings']})")
    print(
        f"encoder {manifest.get('encoder')}, --long-songs {args.long_songs}, rows written "
        f"{sum(manifest['splits'].values()):,}"
    )
    print(f"tokens/s (whole stage)  {tokens / wall:,.0f}   target >= 2,000,000")
    print(f"tokens/s (encode step)  {manifest['throughput']['tokens_per_s_encode']:,}")
    print(f"songs/s  (whole stage)  {songs / wall:,.0f}")
    print(f"peak RSS (all processes) {rss.peak / 2**20:,.0f} MiB   target <= 2048 MiB")
    chunk_paths = sorted((args.work_dir / "chunks").glob("chunk-*.parquet"))
    tokenizer_json = args.work_dir / "tokenizer" / "tokenizer.json"
    texts = first_songs(chunk_paths, 20_000)
    alone, alone_cpu = tokenizer_alone(tokenizer_json, texts)
    kind, enc_alone = encoder_alone(tokenizer_json, texts, args.workers)
    print(
        f"HF tokenizer alone, batched, all cores, {len(texts):,} songs: {alone:,.0f} tokens/s "
        f"(stage / HF tokenizer alone = {tokens / wall / alone:.2f})"
    )
    print(
        f"stage encoder ({kind}) alone, {args.workers} threads, same songs: {enc_alone:,.0f} "
        f"tokens/s ({enc_alone / alone:.2f}x the HF tokenizer)"
    )
    print(
        f"tokens per CPU-second: stage {tokens / cpu:,.0f}, HF tokenizer alone "
        f"{alone_cpu:,.0f} (ratio {tokens / cpu / alone_cpu:.2f}); CPU time suffers less "
        "than wall time from other users of the machine"
    )
    print(f"load average before {load_before}, after {os.getloadavg()}, cores {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
