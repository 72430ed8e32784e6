"""The README and the docs pages cannot rot: every command they name answers ``--help``, and every
relative link and repository path they write exists.

    python -m pytest tests/docs

Modelled on litgpt's ``tests/test_readme.py``. The pages read are ``README.md``, ``docs/*.md`` and
the READMEs of ``artifacts/`` and ``data/``. Commands are found in inline code and code blocks:
``python -m MODULE`` (this repository's ``lyrics_gpt2`` and ``pipeline`` modules),
``accelerate launch PATH.py`` and ``python PATH.py``. Each distinct command runs once, with
``--help``, in a subprocess, two at a time. Paths are Markdown links (resolved from the page,
``#anchors`` checked against the target's headings) and backticked tokens that look like a path
in this repository; outputs under ``artifacts/`` and the user's own ``data/ds.csv`` are not
expected to exist.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from lyrics_gpt2.testing import subprocess_env

REPO = Path(__file__).resolve().parents[2]
PAGES = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "artifacts" / "README.md",
    REPO / "data" / "README.md",
]
# Folders of the repository a path may start with; a backticked token starting with one is a path.
TOP = {"lyrics_gpt2", "pipeline", "tests", "docs", "benchmarks", "configs", "notebooks", "data"}
TOP |= {"artifacts", ".ci"}
# Suffixes of files this repository holds: `rnn/loop.py` is a path too (and must be written whole).
SUFFIXES = {".py", ".md", ".ipynb", ".yaml", ".yml", ".toml", ".png"}
# Written by the commands, or downloaded by the user: named in the docs, never in the repository.
NOT_IN_REPO = ("artifacts/", "data/ds.csv")

FENCE = re.compile(r"^```.*?$(.*?)^```", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
MODULE = re.compile(r"(?<![\w/.-])(?:\S*/)?python3?\s+-m\s+((?:lyrics_gpt2|pipeline)(?:\.\w+)*)")
SCRIPT = re.compile(r"(?<![\w/.-])(?:\S*/)?python3?\s+((?:[\w.-]+/)*[\w.-]+\.py)\b")
LAUNCH = re.compile(r"\baccelerate\s+launch\b.*?\s((?:[\w.-]+/)*[\w.-]+\.py)\b")
LAUNCH_FLAGS = ["--cpu", "--num_processes", "1", "--num_machines", "1"]
LAUNCH_FLAGS += ["--mixed_precision", "no", "--dynamo_backend", "no"]


def rel(page: Path) -> str:
    return page.relative_to(REPO).as_posix()


def split_code(text: str) -> tuple[list[str], list[str], str]:
    """(code blocks, inline code spans, prose) of a Markdown page."""
    blocks = [m.group(1) for m in FENCE.finditer(text)]
    prose = FENCE.sub("", text)
    spans = [m.group(1).replace("\n", " ") for m in INLINE.finditer(prose)]
    return blocks, spans, INLINE.sub("", prose)


def commands_in(text: str) -> list[tuple[str, str]]:
    """("module" | "script" | "accelerate", target) for every command the text names."""
    blocks, spans, _ = split_code(text)
    found = []
    for code in [*(b.replace("\\\n", " ") for b in blocks), *spans]:
        for line in code.splitlines():
            found += [("module", m.group(1)) for m in MODULE.finditer(line)]
            found += [("accelerate", m.group(1)) for m in LAUNCH.finditer(line)]
            found += [("script", m.group(1)) for m in SCRIPT.finditer(line)]
    return found


def argv(kind: str, target: str) -> list[str]:
    if kind == "module":
        return [sys.executable, "-m", target, "--help"]
    if kind == "script":
        return [sys.executable, target, "--help"]
    return [sys.executable, "-m", "accelerate.commands.launch", *LAUNCH_FLAGS, target, "--help"]


def shown(kind: str, target: str) -> str:
    return {"module": "python -m ", "script": "python ", "accelerate": "accelerate launch "}[
        kind
    ] + target


def all_commands() -> dict[tuple[str, str], list[str]]:
    """Each distinct command, with the pages that name it (in page order)."""
    named: dict[tuple[str, str], list[str]] = {}
    for page in PAGES:
        for command in commands_in(page.read_text(encoding="utf-8")):
            pages = named.setdefault(command, [])
            if rel(page) not in pages:
                pages.append(rel(page))
    return named


def looks_like_path(token: str, in_block: bool) -> bool:
    if "/" not in token or token.startswith(("/", "~", "http:", "https:", "$")):
        return False
    parts = token.rstrip("/").split("/")
    # DIR/chunks/manifest.json, OUT/report.md, <digest>, {corpus}: placeholders, not paths.
    if any(p.isupper() or any(c in p for c in "<>{}…|=:") for p in parts):
        return False
    if parts[0] in TOP:
        return True
    return not in_block and Path(parts[-1]).suffix in SUFFIXES


def paths_in(text: str) -> list[str]:
    """Repository paths written in backticks (inline or in code blocks), as the page writes them."""
    blocks, spans, _ = split_code(text)
    found = []
    for code, in_block in [*((b, True) for b in blocks), *((s, False) for s in spans)]:
        for token in code.split():
            token = token.strip("\"'(),;:.")
            if looks_like_path(token, in_block) and not token.startswith(NOT_IN_REPO):
                found.append(token)
    return found


def exists(path: Path) -> bool:
    if "*" in path.name or "*" in str(path.parent):
        return any(REPO.glob(path.relative_to(REPO).as_posix()))
    return path.exists()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*?)\s*$", text, re.M)}


def link_targets(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    text = INLINE.sub("", text)
    return [t for t in (m.group(1) for m in LINK.finditer(text)) if not re.match(r"\w+:", t)]


COMMANDS = all_commands()
LINKS = sorted({(rel(p), t) for p in PAGES for t in link_targets(p)})
# artifacts/README.md writes its paths from artifacts/, where they are outputs: links only there.
PATH_PAGES = [p for p in PAGES if p.parent.name != "artifacts"]
PATHS = sorted({(rel(p), t) for p in PATH_PAGES for t in paths_in(p.read_text(encoding="utf-8"))})


@pytest.fixture(scope="module")
def help_runs():
    """Every command's ``--help``, started at once on a pool of two workers (2 cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            command: pool.submit(
                subprocess.run,
                argv(*command),
                cwd=REPO,
                env=subprocess_env(),
                capture_output=True,
                text=True,
                timeout=180,
            )
            for command in COMMANDS
        }


def test_the_pages_name_the_commands_people_type():
    shown_commands = {shown(*c) for c in COMMANDS}
    for command in (
        "python -m pipeline.preprocess",
        "accelerate launch lyrics_gpt2/train.py",
        "python -m lyrics_gpt2.generate",
        "python -m lyrics_gpt2.perplexity",
        "python -m lyrics_gpt2.report",
        "python -m lyrics_gpt2.serve",
    ):
        assert command in shown_commands
    assert len(PATHS) > 50 and len(LINKS) > 30


@pytest.mark.parametrize(
    "command", list(COMMANDS), ids=[f"{COMMANDS[c][0]}: {shown(*c)}" for c in COMMANDS]
)
def test_every_command_the_docs_name_answers_help(command, help_runs: dict[tuple, Future]):
    proc = help_runs[command].result()
    assert proc.returncode == 0, (
        f"`{shown(*command)} --help` (named in {', '.join(COMMANDS[command])}) exited "
        f"{proc.returncode}:\n{proc.stderr[-2000:]}"
    )
    assert proc.stdout.strip(), f"`{shown(*command)} --help` printed nothing"


@pytest.mark.parametrize("page, target", LINKS, ids=[f"{p}: {t}" for p, t in LINKS])
def test_every_relative_link_leads_somewhere(page: str, target: str):
    file, _, anchor = target.partition("#")
    path = (REPO / page).parent / file if file else REPO / page
    assert exists(path.resolve()), f"{page} links to {target}: no such file or folder"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path.resolve()), f"{page} links to {target}: no such heading"


@pytest.mark.parametrize("page, path", PATHS, ids=[f"{p}: {t}" for p, t in PATHS])
def test_every_repository_path_the_docs_write_exists(page: str, path: str):
    assert exists(REPO / path), f"{page} names `{path}`, which is not in the repository"


def test_the_readme_fits_on_a_few_screens():
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; move reference material to docs/"


@pytest.mark.parametrize("page", [*PAGES, REPO / "CHANGELOG.md"], ids=rel)
def test_no_page_cites_an_issue_number(page: Path):
    found = re.findall(r"\bissues?\s*#?\d+", page.read_text(encoding="utf-8"), re.I)
    assert not found, f"{rel(page)} cites {found}: say what changed, not where it was tracked"


def test_the_path_finder_tells_paths_from_placeholders():
    text = (
        "See `lyrics_gpt2/cli.py`, `rnn/loop.py`, `DIR/chunks/manifest.json`, `/tmp/ds.csv`,\n"
        "`artifacts/model/`, `OUT/classifier-<digest>.joblib`, `bach/bwv66.6` and\n"
        "```bash\naccelerate launch --config_file configs/accelerate/cpu-ddp.yaml x/train.py\n"
        'python -m lyrics_gpt2.generate --model my_tunes/ --out "docs/a.png"\n```\n'
    )
    assert paths_in(text) == [
        "configs/accelerate/cpu-ddp.yaml",
        "docs/a.png",
        "lyrics_gpt2/cli.py",
        "rnn/loop.py",
    ]
    assert commands_in(text) == [("accelerate", "x/train.py"), ("module", "lyrics_gpt2.generate")]
    assert commands_in(
        "`python benchmarks/serve.py --requests 8` and `python -m cProfile a.py`"
    ) == [("script", "benchmarks/serve.py")]
    assert slug("Stage 1: clean and shard") == "stage-1-clean-and-shard"
    assert slug("Ours vs `transformers.Trainer`") == "ours-vs-transformerstrainer"
