"""report.md and the PNGs of ``python -m lyrics_gpt2.report``, drawn from report.json's dict."""

from __future__ import annotations

from pathlib import Path

from lyrics_gpt2.fileio import atomic_path
from lyrics_gpt2.report import measures as metrics

ROWS = metrics.REPORT_ROWS


def _fmt(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if abs(x) < 10 else f"{x:.1f}"


def headline(report: dict) -> list[str]:
    """A few lines for a terminal: per genre, generated vs held-out on the key figures."""
    gen, held = report["sources"]["generated"], report["sources"]["held_out"]
    out = [f"classifier accuracy on held-out songs {report['classifier']['accuracy']:.3f}"]
    for g, f in gen.items():
        h = held.get(g, {})
        out.append(
            f"{g}: fidelity {_fmt(f['fidelity'])} (held-out {_fmt(h.get('fidelity'))}), copied "
            f"8-grams {_fmt(f['copied_ngram_share'])} ({_fmt(h.get('copied_ngram_share'))}), "
            f"repeated lines {_fmt(f['repeated_line_share'])} "
            f"({_fmt(h.get('repeated_line_share'))}), ended {_fmt(f.get('ended_share'))}"
        )
    return out


def markdown(report: dict, pngs: list[str]) -> str:
    gen, held = report["sources"]["generated"], report["sources"]["held_out"]
    md = ["# Evaluation report", ""]
    md.append(f"Songs: {report['generated_from']}; data: `{report['data_dir']}`.")
    clf = report["classifier"]
    md.append(
        f"Genre classifier ({clf['model']}, {clf['trained_on']}): accuracy "
        f"{clf['accuracy']:.3f} on {clf['held_out_songs']} held-out songs -- the ceiling for "
        "fidelity."
    )
    md.append("")
    for g in gen:
        md += [f"## {g}", "", "| metric | generated | held-out |", "| --- | ---: | ---: |"]
        h = held.get(g, {})
        md.append(f"| songs | {gen[g]['songs']} | {h.get('songs', '-')} |")
        for r in ROWS:
            if r in gen[g] or r in h:
                md.append(f"| {r} | {_fmt(gen[g].get(r))} | {_fmt(h.get(r))} |")
        md.append("")
    ppl = report.get("perplexity")
    if ppl:
        md += ["## Perplexity (validation songs)", "", "| genre | tuned | untuned |"]
        md.append("| --- | ---: | ---: |")
        for g, t in ppl["tuned"].items():
            b = (ppl.get("base") or {}).get(g, {})
            md.append(f"| {g} | {t['perplexity']:.2f} | {_fmt(b.get('perplexity'))} |")
        md.append("")
    md += ["## Examples", ""]
    for ex in report.get("examples", []):
        md += [f"**{ex['genre']}**", "", "```", ex["text"][:1200], "```", ""]
    worst = report.get("most_copied")
    if worst:
        md += [
            "## Most-copied generated song",
            "",
            f"{worst['max_copied_words']} consecutive words from training song "
            f"`{worst['training_id']}`; {worst['copied_ngram_share']:.2f} of its 8-grams copied.",
            "",
            "| generated | nearest training song |",
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
                vals = [v for gg, t in songs[src] if gg == g for v in fn(t)]
                if vals:
                    ax.hist(vals, bins=30, alpha=0.5, density=True, label=src)
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
