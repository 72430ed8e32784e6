"""The page in headless Chromium (Debian's package, driven by Playwright) against a real uvicorn
server on 127.0.0.1: write a song, check it streamed in, save a screenshot.

Skips only where /usr/bin/chromium is absent and CI is unset; .ci/run installs chromium."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from lyrics_gpt2.testing import subprocess_env

REPO = Path(__file__).resolve().parents[2]

FINISHED = "document.getElementById('status').textContent.match(/Done|Cut|Error|Stopped/)"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tiny_trained):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "lyrics_gpt2.serve", "--model", str(tiny_trained[1]),
           "--port", str(port), "--max-batch", "8"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=REPO, env=subprocess_env(), stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"server did not start: {proc.stderr.read()[-2000:]}")
        time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_page_streams_a_song_and_takes_a_screenshot(server, browser):
    page = browser.new_page(viewport={"width": 420, "height": 860})  # a phone's width
    page.goto(server + "/")
    page.wait_for_selector("#genre option[value=rap]", state="attached")
    page.select_option("#genre", "rap")
    page.fill("#prompt", "money on my mind")
    page.fill("#seed", "7")
    # The tiny model's context is short: a length the prompt leaves room for.
    page.eval_on_selector(
        "#max_length",
        "el => { el.value = 32; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    # Count the changes to the song as they arrive (records, not callbacks, which the browser
    # batches when pieces come in one read): a stream writes it in many pieces.
    page.evaluate(
        """() => { window.pieces = 0;
        new MutationObserver((records) => { window.pieces += records.length; }).observe(
            document.getElementById('song'), {childList: true, characterData: true,
            subtree: true}); }"""
    )
    page.click("#write")
    page.wait_for_function(FINISHED, timeout=120_000)
    assert page.text_content("#status").startswith(("Done", "Cut")), page.text_content("#status")
    song = page.evaluate("songText()")
    assert song.startswith("money on my mind") and len(song.split()) > 6
    assert page.evaluate("window.pieces") > 3
    assert "seed=7" in page.get_attribute("#link", "href")
    assert "seed=7" in page.url and "genre=rap" in page.url
    out = REPO / "artifacts" / "serve-page.png"
    out.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    # The link reproduces the song: opening it writes the same text.
    page.goto(page.url)
    page.wait_for_function(FINISHED, timeout=120_000)
    assert page.evaluate("songText()") == song
    # The link ticked "Keep this seed"; untick it and every Write draws a new seed.
    assert page.is_checked("#fix_seed")
    page.uncheck("#fix_seed")
    seeds = []
    for _ in range(2):
        page.click("#write")
        page.wait_for_function(FINISHED, timeout=120_000)
        seeds.append(page.input_value("#seed"))
    assert len({"7", *seeds}) == 3, seeds
    # Sliders have accessible names (the exact ones one click away); the page has an icon.
    assert page.get_by_role("slider", name="Safer or wilder").count() == 1
    page.click("#exact > summary")
    for name in ("Temperature", "Top-k", "Top-p", "Repetition penalty", "Length in tokens"):
        assert page.get_by_role("slider", name=name).count() == 1, name
    assert page.get_attribute("link[rel=icon]", "href") == "static/favicon.svg"
