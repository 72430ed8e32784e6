"""report.md and the PNGs of ``python -m lyrics_gpt2.report``, drawn from report.json's dict."""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.report import measures as metrics

ROWS = metrics.REPORT_ROWS


# Held-out figures of fewer songs per genre than this are shown with their n but compared with
# nothing: neither the classifier's "ceiling" nor a held-out column beside the songs' figures.
MIN_COMPARE = 20
# Fewer values than this are drawn as marks, not as a histogram (one song is no distribution).
MIN_HISTOGRAM = 5


def songs_label(report: dict) -> str:
    """What the songs are: "generated" by the model, or "given" in a file (--songs)."""
    return report.get("songs_label", "generated")


def _held_n(report: dict) -> dict[str, int]:
    return {g: f.get("songs", 0) for g, f in report["sources"]["held_out"].items()}


def too_few(report: dict) -> str | None:
    """Why no held-out comparison is printed (None when every genre has enough songs)."""
    n = _held_n(report)
    small = {g: k for g, k in n.items() if k < MIN_COMPARE}
    if not small and n:
        return None
    counts = ", ".join(f"{g} {k}" for g, k in sorted(n.items())) or "none"
    return (
        f"held-out songs per genre: {counts}; under {MIN_COMPARE} songs of a genre a held-out "
        "figure is too noisy to serve as a ceiling or a comparison (raise the validation split: "
        "stage tokenize --val-fraction)"
    )


def _fmt(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def headline(report: dict) -> list[str]:
    """A few lines for a terminal: per genre, the songs vs held-out on the key figures (held-out
    figures with their n, and none when a genre has fewer than MIN_COMPARE held-out songs)."""
    gen, held = report["sources"]["generated"], report["sources"]["held_out"]
    clf = report["classifier"]
    out = [f"classifier accuracy on {clf['held_out_songs']} held-out songs {clf['accuracy']:.3f}"]
    why = too_few(report)
    if why:
        out.append(why)
    for g, f in gen.items():
        h = held.get(g, {})
        n = h.get("songs", 0)
        if n >= MIN_COMPARE:
            ref = lambda k, h=h, n=n: f" (held-out {_fmt(h.get(k))}, n={n})"  # noqa: E731
        else:
            ref = lambda k: ""  # noqa: E731
        out.append(
            f"{g} ({f['songs']} {songs_label(report)} songs): fidelity {_fmt(f['fidelity'])}"
            f"{ref('fidelity')}, copied 8-grams {_fmt(f['copied_ngram_share'])}"
            f"{ref('copied_ngram_share')}, repeated lines {_fmt(f['repeated_line_share'])}"
            f"{ref('repeated_line_share')}, ended {_fmt(f.get('ended_share'))}"
        )
    return out


def markdown(report: dict, pngs: list[str]) -> str:
    gen, held = report["sources"]["generated"], report["sources"]["held_out"]
    name = songs_label(report)
    md = ["# Evaluation report", ""]
    md.append(f"Songs: {report['generated_from']}; data: `{report['data_dir']}`.")
    clf = report["classifier"]
    why = too_few(report)
    per = ", ".join(f"{g} {k}" for g, k in sorted(_held_n(report).items()))
    md.append(
        f"Genre classifier ({clf['model']}, {clf['trained_on']}): accuracy "
        f"{clf['accuracy']:.3f} on {clf['held_out_songs']} held-out songs ({per})"
        + (f". No ceiling for fidelity: {why}." if why else " -- the ceiling for fidelity.")
    )
    md.append("")
    for g in gen:
        h = held.get(g, {})
        n = h.get("songs", 0)
        if n < MIN_COMPARE:
            md += [f"## {g}", "", f"| metric | {name} |", "| --- | ---: |"]
            md.append(f"| songs | {gen[g]['songs']} |")
            md += [f"| {r} | {_fmt(gen[g].get(r))} |" for r in ROWS if r in gen[g]]
            md += ["", f"No held-out column: {n} held-out {g} songs (under {MIN_COMPARE}).", ""]
            continue
        md += [f"## {g}", "", f"| metric | {name} | held-out (n={n}) |", "| --- | ---: | ---: |"]
        md.append(f"| songs | {gen[g]['songs']} | {n} |")
        for r in ROWS:
            if r in gen[g] or r in h:
                md.append(f"| {r} | {_fmt(gen[g].get(r))} | {_fmt(h.get(r))} |")
        md.append("")
    ppl = report.get("perplexity")
    if ppl:
        md += ["## Perplexity (validation songs)", "", "| genre | songs | tuned | untuned |"]
        md.append("| --- | ---: | ---: | ---: |")
        for g, t in ppl["tuned"].items():
            b = (ppl.get("base") or {}).get(g, {})
            md.append(
                f"| {g} | {t.get('songs', '-')} | {t['perplexity']:.2f} | "
                f"{_fmt(b.get('perplexity'))} |"
            )
        swap = ppl.get("genre_swap")
        if swap and swap.get("verdict"):
            md.append(f"\nGenre swap on {sum(swap['songs'])} songs: {swap['verdict']}.")
        md.append("")
    md += ["## Examples", ""]
    for ex in report.get("examples", []):
        md += [f"**{ex['genre']}**", "", "```", ex["text"][:1200], "```", ""]
    worst = report.get("most_copied")
    if worst:
        md += [
            f"## Most-copied {name} song",
            "",
            f"{worst['max_copied_words']} consecutive words from training song "
            f"`{worst['training_id']}`; {worst['copied_ngram_share']:.2f} of its 8-grams copied.",
            "",
            f"| {name} | nearest training song |",
            "| --- | --- |",
        ]
        a, b = worst["text"].splitlines()[:30], worst["training_text"].splitlines()[:30]
        for i in range(max(len(a), len(b))):
            cell = [(x[i] if i < len(x) else "").replace("|", "\\|") for x in (a, b)]
            md.append(f"| {cell[0]} | {cell[1]} |")
        md.append("")
    md += [f"![{p}]({p})" for p in pngs]
    return "\n".join(md) + "\n"


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, bbox_inches="tight", format="png")


def plots(report: dict, songs: dict[str, list], out: Path) -> list[str]:
    """Line- and song-length histograms (generated vs held-out, per genre) and the genre-swap
    heatmap when the perplexity comparison ran. ``songs``: {source: [(genre, text)]}."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    genres = sorted({g for g, _ in songs["generated"]})
    for name, fn, label in (
        ("line_lengths.png", lambda t: [len(metrics.words(x)) for x in metrics.lines(t)], "words"),
        ("song_lengths.png", lambda t: [len(metrics.words(t))], "words"),
    ):
        fig, axes = plt.subplots(1, len(genres), figsize=(5 * len(genres), 3.5), squeeze=False)
        for ax, g in zip(axes[0], genres, strict=True):
            for src in ("generated", "held_out"):
                texts = [t for gg, t in songs[src] if gg == g]
                vals = [v for t in texts for v in fn(t)]
                who = (
                    f"{songs_label(report) if src == 'generated' else 'held-out'} (n={len(texts)})"
                )
                if len(vals) >= MIN_HISTOGRAM:
                    ax.hist(vals, bins=30, alpha=0.5, density=True, label=who)
                elif vals:  # too few values for a distribution: mark each one
                    color = "C0" if src == "generated" else "C1"
                    for k, v in enumerate(vals):
                        ax.axvline(
                            v, color=color, ls="--", label=f"{who}: values" if not k else None
                        )
            ax.set_title(f"{g}: {name.split('.')[0].replace('_', ' ')}")
            ax.set_xlabel(label)
            ax.legend()
        _save(fig, out / name)
        plt.close(fig)
        written.append(name)
    swap = (report.get("perplexity") or {}).get("genre_swap")
    if swap:
        fig, ax = plt.subplots(figsize=(4 + len(swap["genres"]), 3 + len(swap["genres"])))
        im = ax.imshow(swap["perplexity"], cmap="viridis_r")
        ax.set_xticks(range(len(swap["genres"])), swap["genres"])
        ax.set_yticks(range(len(swap["genres"])), swap["genres"])
        ax.set_xlabel("genre token")
        ax.set_ylabel("songs of genre")
        for i, row in enumerate(swap["perplexity"]):
            for j, v in enumerate(row):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", color="w")
        fig.colorbar(im, label="perplexity")
        _save(fig, out / "genre_swap.png")
        plt.close(fig)
        written.append("genre_swap.png")
    return written
