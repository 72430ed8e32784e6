"""Speed and memory of stage 1 (clean + shard) against the original notebooks' way, same rows.

    python benchmarks/preprocess.py --rows 100000              # ~1 minute on 2 cores
    python benchmarks/preprocess.py --rows 1000000             # several minutes
    python benchmarks/preprocess.py --input data/ds.csv        # an existing CSV instead

It generates a synthetic Genius ds.csv with ``python -m pipeline.synth --rows N --out PATH``
(kept under artifacts/bench/ for the next run), then runs, each in its own process:

- **clean+shard**: ``python -m pipeline.preprocess --stages chunks --force --quiet`` on all rows;
- **naive**: what the original notebooks did, on the first ``--naive-rows`` rows:
  ``pandas.read_csv`` of the whole file, per-row ``langdetect.detect`` on the full lyrics, regex
  clean-up, ASCII-only filter; compared per song;
- **language id**: both detectors of pipeline/langid.py on the same song-shaped labelled texts
  (real words of 10 languages from wordfreq, and English songs with one foreign line), and on
  the first 1,000 songs of the benchmarked corpus against the generator's ``--truth`` file.

It prints songs/s, MB/s and peak RSS (the whole process tree, sampled every 50 ms) side by side,
and the load average, since the machine may be shared. It imports the installed package
(``make setup`` installs it in editable mode), as do the processes it starts.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def measure(cmd: list[str]) -> tuple[float, int, float]:
    """Run ``cmd``; wall seconds, peak RSS (bytes) of its process tree, CPU seconds it used.

    CPU seconds (user + system of the command and every process it waited for) tell what the
    run costs when the machine is shared: wall time then depends on the other users.
    """
    import resource

    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [ps, *ps.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    if proc.stdout:
        proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed with exit code {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, peak, cpu


def head_rows(src: Path, dest: Path, n: int) -> int:
    """Copy the header and the first ``n`` rows of a CSV (csv module, so quoting survives)."""
    csv.field_size_limit(1 << 30)
    with src.open(newline="", encoding="utf-8") as fin, dest.open("w", newline="") as fout:
        reader, writer = csv.reader(fin), csv.writer(fout)
        writer.writerow(next(reader))
        count = 0
        for row in reader:
            if count == n:
                break
            writer.writerow(row)
            count += 1
    return count


def naive(path: Path, out: Path) -> None:
    """The original notebooks' preprocessing, as a reference (run in its own process)."""
    import langdetect
    import pandas as pd

    df = pd.read_csv(path)
    df = df[df["tag"].isin(["pop", "rap"])].dropna(subset=["lyrics"])
    keep = []
    for lyrics in df["lyrics"]:
        try:
            english = langdetect.detect(lyrics) == "en"
        except langdetect.lang_detect_exception.LangDetectException:
            english = False
        text = re.sub(r"\[.*?\]", "", lyrics)
        text = re.sub(r"\(.*?\)", "", text)
        text = re.sub(r"\{.*?\}", "", text)
        text = re.sub(r"\n{2,}", "\n\n", text).strip()
        keep.append(english and text.isascii() and bool(text))
    df = df[keep]
    df.to_csv(out, index=False)
    print(len(df))


def labelled_texts(n_per_lang: int, seed: int = 0) -> list[tuple[str, bool]]:
    """Song-shaped texts in 10 languages (True = English; a quarter of them only 2-4 lines long),
    plus English songs with one foreign line at the top."""
    from wordfreq import top_n_list

    rng = random.Random(seed)
    langs = ["en", "es", "fr", "de", "pt", "it", "ru", "pl", "nl", "tr"]
    words = {lang: top_n_list(lang, 2000) for lang in langs}

    def song(lang: str, lines: tuple[int, int] = (12, 30)) -> list[str]:
        return [
            " ".join(rng.choice(words[lang]) for _ in range(rng.randint(5, 9)))
            for _ in range(rng.randint(*lines))
        ]

    texts = []
    for lang in langs:
        for i in range(n_per_lang):
            # One in four is short (2-4 lines): the hard case for any detector.
            lines = (2, 4) if i % 4 == 0 else (12, 30)
            texts.append(("\n".join(song(lang, lines)), lang == "en"))
    for _ in range(n_per_lang):  # English with one foreign line at the top
        lines = song("en")
        lines.insert(0, " ".join(rng.choice(words[rng.choice(langs[1:])]) for _ in range(7)))
        texts.append(("\n".join(lines), True))
    return texts


def bench_langid(n_per_lang: int) -> list[str]:
    from pipeline import langid

    texts = labelled_texts(n_per_lang)
    lines = []
    for name in langid.DETECTORS:
        det = langid.make_detector(name)
        sample = texts if name == "fasttext" else texts[:: max(1, len(texts) // 600)]
        t0 = time.process_time()
        answers = [langid.judge(det, text, "en") for text, _ in sample]
        cpu = time.process_time() - t0
        correct = sum(a == truth for a, (_, truth) in zip(answers, sample, strict=True))
        lines.append(
            f"  {name:<11}{len(sample) / cpu:>10,.0f} texts/s (one core)   accuracy "
            f"{correct / len(sample):.3f} on {len(sample)} texts"
        )
    return lines


def corpus_accuracy(path: Path, truth: Path | None, n: int) -> str:
    """Both detectors on the first ``n`` songs of ``path``: accuracy against the generator's
    truth file (its ``language`` column) when there is one, else how often they agree."""
    from pipeline import clean, langid
    from pipeline.read import Reader

    languages: dict[str, str] = {}
    if truth is not None and truth.exists():
        with truth.open(newline="") as f:
            for row in csv.DictReader(f):
                if row["kind"] in ("clean", "foreign"):
                    languages.setdefault(row["id"], row["language"])
    texts: list[tuple[str, bool | None]] = []
    for batch in Reader(path, untagged_genre="pop"):
        for song_id, raw in zip(batch["id"], batch["lyrics"], strict=True):
            text = clean.clean_lyrics(raw)
            if text and (not languages or song_id in languages):
                texts.append((text, languages[song_id] == "en" if languages else None))
        if len(texts) >= n:
            break
    texts = texts[:n]
    answers = {}
    for name in langid.DETECTORS:
        det = langid.make_detector(name)
        answers[name] = [langid.judge(det, t, "en") for t, _ in texts]
    if not languages:
        agree = sum(a == b for a, b in zip(*answers.values(), strict=True))
        return f"  on the first {len(texts)} songs of the input the detectors agree on " + (
            f"{agree / max(len(texts), 1):.3f}"
        )
    parts = []
    for name, got in answers.items():
        correct = sum(a == truth for a, (_, truth) in zip(got, texts, strict=True))
        parts.append(f"{name} {correct / max(len(texts), 1):.4f}")
    share = sum(t for _, t in texts) / max(len(texts), 1)
    return (
        f"  accuracy on the first {len(texts)} clean/foreign songs of the input "
        f"({share:.0%} English, truth from pipeline.synth): {', '.join(parts)}"
    )


def main() -> None:
    from pipeline import langid

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="synthetic rows to generate")
    parser.add_argument("--input", type=Path, help="benchmark this CSV instead of a synthetic one")
    parser.add_argument("--naive-rows", type=int, default=1000, help="rows for the naive run")
    parser.add_argument("--langid-texts", type=int, default=200, help="texts per language")
    parser.add_argument("--workdir", type=Path, default=REPO / "artifacts" / "bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--naive-only", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_only:
        naive(*args.naive_only)
        return

    args.workdir.mkdir(parents=True, exist_ok=True)
    inp, truth = args.input, None
    if inp is None:
        inp = args.workdir / f"ds-{args.rows}-seed{args.seed}.csv"
        truth = args.workdir / f"truth-{args.rows}-seed{args.seed}.csv"
        if not (inp.exists() and truth.exists()):
            print(f"generating {inp} ...", flush=True)
            subprocess.run(
                [sys.executable, "-m", "pipeline.synth", "--rows", str(args.rows), "--out",
                 str(inp), "--seed", str(args.seed), "--truth", str(truth)],
                cwd=REPO, check=True,
            )  # fmt: skip
    size = inp.stat().st_size
    load_before = os.getloadavg()

    out = args.workdir / "out"
    wall, peak, cpu = measure(
        [
            sys.executable,
            "-m",
            "pipeline.preprocess",
            "--stages",
            "chunks",
            "--input",
            str(inp),
            "--output-dir",
            str(out),
            "--force",
            "--quiet",
        ]
    )
    manifest = json.loads((out / "chunks" / "manifest.json").read_text())
    rows = manifest["rows_in"]

    subset = args.workdir / f"naive-{args.naive_rows}.csv"
    n_naive = head_rows(inp, subset, args.naive_rows)
    naive_wall, naive_peak, naive_cpu = measure(
        [sys.executable, __file__, "--naive-only", str(subset), str(args.workdir / "naive.csv")]
    )
    naive_size = subset.stat().st_size
    load_after = os.getloadavg()

    print(f"\ninput {inp} ({rows:,} rows, {size / 1e6:,.1f} MB, "
          f"mean {size / max(rows, 1):,.0f} bytes per row)")  # fmt: skip
    header = ("", "rows", "songs/s", "MB/s", "peak RSS", "wall", "CPU", "CPU us/song")
    print("{:<24}{:>10}{:>10}{:>8}{:>11}{:>9}{:>9}{:>13}".format(*header))
    runs = [
        ("clean+shard (stage 1)", rows, size, wall, peak, cpu),
        ("naive reference", n_naive, naive_size, naive_wall, naive_peak, naive_cpu),
    ]
    for name, n, nbytes, secs, rss, cpu_s in runs:
        print(f"{name:<24}{n:>10,}{n / secs:>10,.0f}{nbytes / 1e6 / secs:>8.2f}"
              f"{rss / 2**20:>8,.0f} MB{secs:>8.1f}s{cpu_s:>8.1f}s{cpu_s / n * 1e6:>13,.0f}")  # fmt: skip
    fast, slow = rows / wall, n_naive / naive_wall
    print(f"speed-up per song: {fast / slow:,.0f}x wall, "
          f"{(naive_cpu / n_naive) / (cpu / rows):,.0f}x CPU   (targets: >= 8,000 songs/s, "
          ">= 20x, peak RSS <= 1.5 GB and flat in rows)")  # fmt: skip
    cores = min(2, os.cpu_count() or 1)
    print(f"if CPU-bound on an idle {cores}-core machine: ~{rows / (cpu / cores):,.0f} songs/s "
          "(CPU time / cores; a shared machine's wall time is what the table shows)")  # fmt: skip
    print(f"stage 1 kept {manifest['rows_out']:,}; timings {manifest['timings']}")
    junk = {r: c for r, c in manifest.get("scrape_junk", {}).items() if c["lines"]}
    print(f"scrape junk removed (lines/songs per rule): {junk}")
    print(f"load average before {load_before}, after {load_after} on {os.cpu_count()} cores")
    print(f"\nlanguage id ({args.langid_texts} song-shaped texts per language, whole song in "
          f"blocks of >= {langid.BLOCK_CHARS} characters, up to {langid.SAMPLE_CHARS}; "
          f"langid.judge: English-word share >= {langid.QUICK_SHARE} keeps at once):")  # fmt: skip
    for line in bench_langid(args.langid_texts):
        print(line)
    print(corpus_accuracy(inp, truth, 1000))


if __name__ == "__main__":
    main()
