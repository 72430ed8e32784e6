"""The whole pipeline at the real dump's size: synthetic dump -> stage 1 -> stage 2 -> the report's
n-gram index -> 100 training steps, each stage timed and its memory and disk measured.

    python benchmarks/full_scale.py                       # 5,913,411 rows (~9.8 GB), ~45 min on 2 cores
    python benchmarks/full_scale.py --rows 100000         # ~1 minute: a look at the numbers
    python benchmarks/full_scale.py --rows 1000000 --json artifacts/bench/full-1m.json
    nice -n 15 python benchmarks/full_scale.py ...        # on a shared machine

The dump is written once by ``python -m pipeline.synth`` (the Genius ds.csv layout, the real
genre mix and junk rates) as ``WORK/ds-<rows>.csv`` and reused by later runs. Then, each stage in
its own process tree (its progress shown as it runs):

1. ``python -m pipeline.preprocess --stages chunks``: clean and shard (MB/s of the CSV);
2. ``python -m pipeline.preprocess --stages tokenize`` with the real GPT-2 BPE (tokens/s);
3. the report's n-gram index of the training split (``lyrics_gpt2.report.build.build_index``,
   the cache ``python -m lyrics_gpt2.report`` reads; 8-grams/s, kept against ``--max-ngrams``);
4. ``lyrics_gpt2/train.py --preset tiny --max-steps 100 --no-eval-at-start`` on the full
   tokenized data (validation at the end only): tokens/s, and the seconds from the command's
   start to its first finished training step.

Per stage it prints wall time, throughput, the peak RSS of the whole process tree (psutil,
sampled every 0.1 s; pages of memory-mapped files count) and its peak without file-backed and
shared pages ("anon": what the processes hold themselves), the disk its output takes, the mean
1-minute load average while it ran (the machine may be shared) and the stage's target. Targets
are for the full size; a smaller ``--rows`` is judged by throughput and by memory, which must
not grow with rows (compare two sizes).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FULL_ROWS = 5_913_411  # rows of the real Genius dump (ds.csv, 9.21 GB)
FULL_BYTES = 9.21e9
TARGET_STAGE_S = 360  # stage 1 and stage 2 at full size, 2 cores
TARGET_RSS_MB = 1500
TARGET_FIRST_STEP_S = 30
STAGES = ("synth", "chunks", "tokenize", "index", "train")


def tree_rss(proc) -> tuple[int, int]:
    """(RSS, RSS less its file-backed and shared pages) summed over ``proc`` and its children.
    The second is the memory the processes hold themselves; the difference is mostly pages of
    memory-mapped files (the Arrow data), page cache the kernel can drop, which RSS counts."""
    import psutil

    total = anon = 0
    with contextlib.suppress(psutil.Error):  # the stage may end while it is sampled
        for p in (proc, *proc.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                info = p.memory_info()
                total += info.rss
                anon += info.rss - info.shared
    return total, anon


def run_stage(name: str, cmd: list[str], watch=None) -> dict:
    """Run ``cmd`` from the repository root; wall time, peak tree RSS, mean load while it ran.

    ``watch(elapsed)`` is called at every sample (to note when a file first appears)."""
    import psutil

    print(f"\n== {name}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO)
    ps = psutil.Process(proc.pid)
    peak, peak_anon, loads = 0, 0, []
    while proc.poll() is None:
        rss, anon = tree_rss(ps)
        peak, peak_anon = max(peak, rss), max(peak_anon, anon)
        loads.append(os.getloadavg()[0])
        if watch:
            watch(time.perf_counter() - t0)
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU seconds of the stage and every process it waited for: what the stage costs, which
    # other users of a shared machine disturb far less than its wall time.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (exit {proc.returncode}): {' '.join(cmd)}")
    return {
        "stage": name,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "peak_rss_mb": round(peak / 2**20),
        "peak_anon_mb": round(peak_anon / 2**20),
        "load": round(sum(loads) / max(1, len(loads)), 2),
    }


def disk_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return round(total / 1e6, 1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=FULL_ROWS, help="dump rows (%(default)s)")
    p.add_argument("--work-dir", type=Path, default=REPO / "artifacts" / "bench" / "full-scale")
    p.add_argument("--tokenizer", type=Path, default=REPO / "artifacts" / "gpt2-tokenizer")
    p.add_argument("--workers", type=int, default=2, help="stage processes (%(default)s)")
    p.add_argument("--steps", type=int, default=100, help="training steps (%(default)s)")
    p.add_argument("--max-ngrams", type=int, default=50_000_000, help="index bound (report's)")
    p.add_argument("--stages", nargs="+", choices=STAGES[1:], default=list(STAGES[1:]),
                   help="stages to run; the others' outputs must exist (default: all)")  # fmt: skip
    p.add_argument("--json", type=Path, help="also write the results here (after each stage)")
    args = p.parse_args(argv)
    if args.rows < 1000:
        p.error(f"--rows must be at least 1000 (got {args.rows})")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    run = Run(args)
    # The dump, once: later runs of the same size reuse it.
    if not run.dump.is_file():
        cmd = [run.py, "-m", "pipeline.synth", "--rows", str(args.rows), "--seed", "1"]
        r = run_stage("synth", [*cmd, "--out", str(run.dump), "--quiet"])
        r.update(rate=f"{run.dump.stat().st_size / 1e6 / r['wall_s']:.1f} MB/s", target="-")
        run.done(r)
    print(f"dump {run.dump}: {args.rows:,} rows, {run.size / 1e9:.2f} GB", file=sys.stderr)
    for name in args.stages:
        getattr(run, name)()
    return 0


class Run:
    """The stages of one size; each appends its row to the table (printed and saved as it goes)."""

    def __init__(self, args):
        from lyrics_gpt2 import gpt2_vocab

        self.args, self.py, self.work = args, sys.executable, args.work_dir
        self.dump = self.work / f"ds-{args.rows}.csv"
        self.data, self.model = self.work / f"data-{args.rows}", self.work / f"model-{args.rows}"
        self.tokenizer = gpt2_vocab.build(args.tokenizer)
        self.scale = args.rows / FULL_ROWS
        self.results: list[dict] = []
        self.base = [self.py, "-m", "pipeline.preprocess", "--input", str(self.dump)]
        self.base += ["--output-dir", str(self.data), "--workers", str(args.workers), "--force"]

    @property
    def size(self) -> int:
        return self.dump.stat().st_size

    def done(self, r: dict) -> None:
        self.results.append(r)
        print_table(self.results, self.args.rows, self.size)
        if self.args.json:
            self.args.json.parent.mkdir(parents=True, exist_ok=True)
            record = {"rows": self.args.rows, "bytes": self.size, "cpus": os.cpu_count()}
            self.args.json.write_text(json.dumps({**record, "stages": self.results}, indent=1))

    def chunks(self) -> None:
        r = run_stage("stage 1 (chunks)", [*self.base, "--stages", "chunks"])
        mbps = self.size / 1e6 / r["wall_s"]
        r.update(rate=f"{mbps:.1f} MB/s", disk_mb=disk_mb(self.data / "chunks"))
        r["target"] = f">= {FULL_BYTES / 1e6 / TARGET_STAGE_S:.1f} MB/s"
        r["met"] = mbps >= FULL_BYTES / 1e6 / TARGET_STAGE_S
        r["full_size_s"] = round(FULL_BYTES / 1e6 / mbps)
        r["note"] = f"at this rate 9.21 GB takes {r['full_size_s']} s"
        self.done(r)

    def tokenize(self) -> None:
        cmd = [*self.base, "--stages", "tokenize", "--tokenizer", str(self.tokenizer)]
        r = run_stage("stage 2 (tokenize)", cmd)
        manifest = json.loads((self.data / "tokenized" / "manifest.json").read_text())
        tokens = manifest["throughput"]["tokens_tokenized"]
        r.update(rate=f"{tokens / r['wall_s'] / 1e6:.2f}M tokens/s", tokens=tokens)
        parts = [self.data / d for d in ("tokenized", "tokenizer", "tokenized.parts")]
        r["disk_mb"] = disk_mb(*parts)
        r["target"] = f"<= {TARGET_STAGE_S * self.scale:.0f} s ({TARGET_STAGE_S} s x rows share)"
        r["met"] = r["wall_s"] <= TARGET_STAGE_S * self.scale
        r["full_size_s"] = round(r["wall_s"] / self.scale)
        r["splits"] = manifest["splits"]
        r["note"] = f"{tokens:,} tokens; scaled by rows the full dump takes {r['full_size_s']} s"
        self.done(r)

    def index(self) -> None:
        """The report's n-gram index of the training split (its cache, rebuilt every run)."""
        shutil.rmtree(self.data / "report-cache", ignore_errors=True)
        out = self.work / f"index-{self.args.rows}.json"
        code = (
            "import json; from lyrics_gpt2.report.build import build_index; "
            f"i, n = build_index({str(self.data)!r}, max_ngrams={self.args.max_ngrams}); "
            f"open({str(out)!r}, 'w').write(json.dumps("
            "{'keys': len(i.keys), 'bytes': i.nbytes, 'ngrams_seen': n}))"
        )
        r = run_stage("n-gram index", [self.py, "-c", code])
        info = json.loads(out.read_text())
        r.update(rate=f"{info['ngrams_seen'] / r['wall_s'] / 1e6:.2f}M 8-grams/s", **info)
        r["disk_mb"] = disk_mb(self.data / "report-cache")
        r["target"] = f"<= {self.args.max_ngrams:,} 8-grams"
        r["met"] = info["keys"] <= self.args.max_ngrams
        r["note"] = f"{info['keys']:,} distinct 8-grams kept of {info['ngrams_seen']:,} read"
        self.done(r)

    def train(self) -> None:
        """The tiny preset over the full tokenized data."""
        # The benchmark's own folder: an earlier run's metrics would read as this run's steps.
        shutil.rmtree(self.model, ignore_errors=True)
        metrics = self.model / "metrics.jsonl"
        first: dict[str, float] = {}

        def first_step(elapsed: float) -> None:
            if "s" in first or not metrics.is_file():
                return
            text = metrics.read_text()
            if "val" not in first and '"kind": "val"' in text:
                first["val"] = elapsed  # start-up, data, model and the step-0 validation
            if '"kind": "train"' in text:
                first["s"] = elapsed

        # -m from the repository root: this checkout's package, whatever is installed.
        cmd = [self.py, "-m", "lyrics_gpt2.train", "--preset", "tiny"]
        cmd += ["--data-dir", str(self.data), "--output-dir", str(self.model)]
        cmd += ["--max-steps", str(self.args.steps), "--log-every", "1"]
        # Validation at the end only: the step-0 validation of the untrained model (256 songs
        # through the 50k-vocabulary output layer) alone took 25-300 s, before any step.
        cmd += ["--eval-every", "0", "--no-eval-at-start"]
        r = run_stage(f"training (tiny, {self.args.steps} steps)", cmd, watch=first_step)
        summary = json.loads((self.model / "summary.json").read_text())
        r.update(rate=f"{summary['tokens_per_s']:.0f} tokens/s", disk_mb=disk_mb(self.model))
        r["first_step_s"] = round(first.get("s", float("nan")), 1)
        r["step0_validation_done_s"] = round(first.get("val", float("nan")), 1)
        r["target"] = f"first step <= {TARGET_FIRST_STEP_S} s"
        r["met"] = first.get("s", 1e9) <= TARGET_FIRST_STEP_S
        r["train_rows"], r["train_songs"] = summary["train_rows"], summary["train_songs"]
        r["note"] = (
            f"first step {r['first_step_s']} s after start (no step-0 validation); "
            f"{r['train_rows']:,} training rows ({r['train_songs']:,} songs)"
        )
        self.done(r)


def print_table(results: list[dict], rows: int, size: int) -> None:
    print(f"\n{rows:,} rows, {size / 1e9:.2f} GB; {os.cpu_count()} CPUs", flush=True)
    head = (
        f"{'stage':28} {'wall s':>8} {'CPU s':>8} {'rate':>20} {'peak RSS MB':>12} "
        f"{'anon MB':>8} {'disk MB':>9} {'load':>5}  target"
    )
    print(head)
    for r in results:
        rss_ok = "ok" if r["peak_rss_mb"] <= TARGET_RSS_MB else f"over {TARGET_RSS_MB}"
        met = {True: "met", False: "MISSED"}.get(r.get("met"), "")
        print(
            f"{r['stage']:28} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['rate']:>20} {r['peak_rss_mb']:>8} {rss_ok:>3}"
            f" {r.get('peak_anon_mb', 0):>8} {r.get('disk_mb', 0):9.1f} {r['load']:5.2f}  {r['target']} {met}"
        )
    for r in results:
        if r.get("note"):
            print(f"  {r['stage']}: {r['note']}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
