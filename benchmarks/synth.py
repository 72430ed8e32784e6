"""Throughput and memory of the synthetic corpus generator.

    python benchmarks/synth.py                      # 100k and 1M rows, plain CSV
    python benchmarks/synth.py --rows 100000 --gz   # gzip output as well

Each size runs in a fresh subprocess so its peak RSS is its own. Prints rows/s, MB/s (of CSV
written), CPU seconds, peak RSS and the load average (the machine may be shared: compare CPU
seconds, which other processes disturb less than wall time). It imports the installed package
(``make setup`` installs it in editable mode).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def measure(rows: int, out: Path, layout: str) -> dict:
    """Run in this process: generate, then report timings and peak RSS."""
    from pipeline.synth import SynthConfig, generate

    t0, c0 = time.perf_counter(), time.process_time()
    generate(SynthConfig(rows=rows, seed=1, layout=layout), out)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    size = out.stat().st_size
    return {
        "rows": rows,
        "file": out.name,
        "MB": round(size / 1e6, 1),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "rows_per_s": round(rows / wall),
        "rows_per_cpu_s": round(rows / cpu),
        "MB_per_s": round(size / 1e6 / wall, 1),
        "peak_rss_MB": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--gz", action="store_true", help="also time a .csv.gz output")
    p.add_argument("--layout", default="genius")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(measure(int(args.child[0]), Path(args.child[1]), args.layout)))
        return 0
    print(f"load average before: {os.getloadavg()}  cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            for suffix in (".csv", ".csv.gz") if args.gz else (".csv",):
                out = Path(tmp) / f"synth-{rows}{suffix}"
                cmd = [
                    sys.executable,
                    __file__,
                    "--layout",
                    args.layout,
                    "--child",
                    str(rows),
                    str(out),
                ]
                result = json.loads(
                    subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                )
                print(json.dumps(result), f" load average: {os.getloadavg()}")
                out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
