"""The numbers and the table ``python -m lyrics_gpt2.perplexity`` reports from per-song scores.

Token-weighted perplexity, bits per byte and a bootstrap 95% interval over songs, overall and per
genre (:func:`breakdown`), and the plain-text table with the genre-swap matrix (:func:`render`).
Scoring itself is lyrics_gpt2.perplexity's (and training's) job: lyrics_gpt2.evaluation.scoring.
"""

from __future__ import annotations

import math

import numpy as np

from lyrics_gpt2.evaluation.scoring import SongScores

LN2 = math.log(2)


def bootstrap_ratio(
    num: np.ndarray, den: np.ndarray, n: int, seed: int
) -> tuple[float, float] | None:
    """95% percentile interval of ``sum(num) / sum(den)`` with songs resampled ``n`` times (None
    for n = 0 or fewer than 2 songs). The resamples depend only on ``seed`` and the number of
    songs, so two models scored on the same songs are resampled alike (a paired comparison).
    The project's one bootstrap: perplexity (nats / tokens), compare (bits / bytes)."""
    k = len(num)
    if n <= 0 or k < 2:
        return None
    rng = np.random.default_rng(seed)
    lo, hi = 0, n
    draws = np.empty(n)
    # Resample in blocks so memory stays at ~block x songs indices.
    block = max(1, 2_000_000 // k)
    while lo < hi:
        m = min(block, hi - lo)
        pick = rng.integers(0, k, size=(m, k))
        draws[lo : lo + m] = num[pick].sum(1) / den[pick].sum(1)
        lo += m
    low, high = np.percentile(draws, [2.5, 97.5])
    return float(low), float(high)


def summarize(scores: SongScores, nbytes: np.ndarray, n_boot: int, seed: int) -> dict:
    tokens = int(scores.tokens.sum())
    nll = float(scores.nll.sum())
    total_bytes = int(nbytes.sum())
    ci = bootstrap_ratio(scores.nll, scores.tokens, n_boot, seed)
    return {
        "songs": len(scores.nll),
        "tokens": tokens,
        "bytes": total_bytes,
        "mean_nll": nll / tokens if tokens else float("nan"),
        "perplexity": math.exp(nll / tokens) if tokens else float("nan"),
        "bits_per_byte": nll / LN2 / total_bytes if total_bytes else float("nan"),
        "ci95": [math.exp(ci[0]), math.exp(ci[1])] if ci else None,
    }


def breakdown(scores: SongScores, genres: np.ndarray, nbytes: np.ndarray, n_boot: int, seed: int):
    """{"all": ..., genre: ...} summaries of per-song scores; ``genres[i]`` is song i's genre."""
    out = {"all": summarize(scores, nbytes, n_boot, seed)}
    for genre in sorted(set(genres.tolist())):
        mask = genres == genre
        out[genre] = summarize(scores.subset(mask), nbytes[mask], n_boot, seed)
    return out


def fmt_ppl(x: float) -> str:
    return f"{x:,.2f}" if x < 1e5 else f"{x:.3g}"


def fmt_ci(ci: list[float] | None) -> str:
    return f"[{fmt_ppl(ci[0])}, {fmt_ppl(ci[1])}]" if ci else "-"


def render(result: dict) -> str:
    tuned, base = result["tuned"], result.get("base")
    lines = [
        f"Perplexity on {result['data_dir']} ({result['split']}, {result['songs']} songs"
        + (
            f" in {result['rows']} rows"
            if result.get("rows", result["songs"]) != result["songs"]
            else ""
        )
        + ")",
        f"  scored: {result['targets']}",
        f"  tuned:  {result['model']}",
    ]
    if base:
        lines.append(f"  base:   {result['base_model']}  -- input: {result['base_input']}")
    lines.append("")
    head = f"{'genre':<10}{'songs':>6}{'tokens':>10}{'tuned ppl':>12}  {'95% CI':<22}{'bpb':>7}"
    if base:
        head += f"{'base ppl':>13}  {'95% CI':<24}{'bpb':>7}"
    lines.append(head)
    for genre, t in tuned.items():
        line = (
            f"{genre:<10}{t['songs']:>6}{t['tokens']:>10,}{fmt_ppl(t['perplexity']):>12}  "
            f"{fmt_ci(t['ci95']):<22}{t['bits_per_byte']:>7.3f}"
        )
        if base:
            b = base[genre]
            line += (
                f"{fmt_ppl(b['perplexity']):>13}  {fmt_ci(b['ci95']):<24}{b['bits_per_byte']:>7.3f}"
            )
        lines.append(line)
    swap = result.get("genre_swap")
    if swap and swap["rows"]:
        g = swap["genres"]
        lines += [
            "",
            "Genre swap (tuned model): perplexity of each genre's songs (rows) under each genre "
            "token (columns); * = lowest in the row",
            f"{'songs':<10}" + "".join(f"{'[' + c + ']':>14}" for c in g),
        ]
        for i, row in enumerate(swap["perplexity"]):
            best = int(np.argmin(row))
            cells = "".join(
                f"{('*' if j == best else '') + fmt_ppl(v):>14}" for j, v in enumerate(row)
            )
            lines.append(f"{g[i]:<10}{cells}")
        for i, gain in enumerate(swap.get("gain", [])):
            if gain["against"] is None:
                continue
            ci = gain["ci95"]
            interval = f"95% CI {ci[0]:+.4f} to {ci[1]:+.4f}" if ci else "no interval"
            lines.append(
                f"  {g[i]}: own token saves {gain['nats_per_token']:+.4f} nats/token against "
                f"{g[gain['against']]} on {swap['songs'][i]} songs ({interval}, paired bootstrap "
                f"over songs){'' if gain['significant'] else ': not significant'}"
            )
        verdict = swap.get("verdict", "check")
        lines.append(f"diagonal wins in {swap['diagonal_wins']}/{swap['rows']} rows ({verdict})")
    lines += render_artist_swap(result.get("artist_swap"))
    return "\n".join(lines) + "\n"


def render_artist_swap(swap: dict | None) -> list[str]:
    """The artist swap matrix (lyrics_gpt2.evaluation.swap.artist_swap) as lines; none without it."""
    if not swap or not swap["rows"]:
        return []
    width = max(10, *(len(a) + 2 for a in swap["artists"]))
    cols = swap["columns"]
    lines = [
        "",
        f"Artist swap (tuned model, split {swap['split']}): perplexity of each artist's held-out "
        "songs (rows) under each artist token and under none (columns); * = lowest in the row",
        f"{'songs of':<{width}}{'n':>4}"
        + "".join(f"{c[:width]:>{width}}" for c in cols)
        + f"{'gain':>9}",
    ]
    for i, row in enumerate(swap["perplexity"]):
        best = int(np.argmin(row))
        cells = "".join(
            f"{('*' if j == best else '') + fmt_ppl(v):>{width}}" for j, v in enumerate(row)
        )
        lines.append(
            f"{swap['artists'][i][:width]:<{width}}{swap['songs'][i]:>4}{cells}"
            f"{swap['gain_per_artist'][i]:>+9.3f}"
        )
    lines.append(
        f"diagonal wins in {swap['diagonal_wins']}/{swap['rows']} rows; own artist token vs none: "
        f"{swap['gain_nats_per_token']:+.4f} nats/token over {swap['tokens']:,} tokens "
        "(> 0: the token helps)"
    )
    return lines
