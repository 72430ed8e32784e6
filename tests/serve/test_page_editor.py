"""The songwriter's page in headless Chromium (Debian's package, driven by Playwright) against a
real ``python -m lyrics_gpt2.serve`` on a tiny model trained with section tokens: write a song
with a form and a rhyme scheme, lock two lines and write the rest again, write one line again
and check it rhymes with its partner, edit the chorus and see every copy change, ask for rhyming
endings, download the .txt, find the song in the history; screenshots at desktop and phone width
go to artifacts/ (docs/page-desktop.png and docs/page-phone.png are copies of them).

Skips only where /usr/bin/chromium is absent and CI is unset; .ci/run installs chromium."""

from __future__ import annotations

import re

import pytest

from lyrics_gpt2.songcraft.rhyme import last_word, rhymes
from tests.serve.served import REPO, server
from tests.serve.test_serve_browser import FINISHED

pytestmark = pytest.mark.slow
FORM = "verse chorus verse chorus"
WROTE = "document.getElementById('status').textContent.match(/^(Wrote|Error|Stopped|Every)/)"


@pytest.fixture(scope="module")
def url(sectioned_trained):
    with server(sectioned_trained, "--max-batch", "8") as (base, _):
        yield base


def line(page, s: int, j: int):
    return page.locator(f'#song input.text[data-pos="{s}-{j}"]')


def texts(page) -> list[list[str]]:
    return page.evaluate("song.sections.map((s) => s.lines.map((l) => l.text))")


def write_song(page, url: str, seed: int = 5) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#genre option[value=pop]", state="attached")
    page.select_option("#genre", "pop")
    page.select_option("#form_preset", FORM)
    page.fill("#seed", str(seed))
    page.eval_on_selector(
        "#max_length",
        "el => { el.value = 120; el.dispatchEvent(new Event('input', {bubbles: true})); }",
    )
    page.evaluate(
        """() => { window.said = [];
        new MutationObserver(() => window.said.push(document.getElementById('announce')
            .textContent)).observe(document.getElementById('announce'),
            {childList: true, characterData: true, subtree: true}); }"""
    )
    page.click("#write")
    page.wait_for_function(FINISHED, timeout=120_000)
    assert page.text_content("#status").startswith("Done"), page.text_content("#status")


def test_write_by_form_lock_rewrite_rhyme_copy_and_download(url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    write_song(page, url)
    # The song came in section by section under the form's labels; the chorus is one text.
    assert page.locator("#song h2").all_text_contents() == [
        "Verse 1",
        "Chorus",
        "Verse 2",
        "Chorus",
    ]
    song = texts(page)
    assert all(song) and song[1] == song[3], song
    lines = sum(len(s) for s in song)
    # The live region spoke finished lines, never a token at a time.
    said = page.evaluate("window.said")
    assert 1 <= len(said) <= lines, said
    # Syllables in the margin, from the server's counts (analysed a moment after a change).
    page.wait_for_function(
        "document.querySelector('[data-pos=\"syl-0-0\"]').textContent !== ''", timeout=10_000
    )
    assert re.fullmatch(r"\d+", page.locator('[data-pos="syl-0-0"]').text_content())

    # Lock two lines, write everything else again: the locked lines stay.
    page.get_by_label("Lock Verse 1 line 1").check()
    page.get_by_label("Lock Verse 2 line 2").check()
    page.click("#regen_all")
    page.wait_for_function(WROTE + " && !document.getElementById('write').disabled",
                           timeout=120_000)  # fmt: skip
    assert page.text_content("#status") == "Wrote every unlocked line again."
    after = texts(page)
    assert after[0][0] == song[0][0] and after[2][1] == song[2][1]
    assert after != song and after[1] == after[3]

    # One section written again: only its unlocked lines change.
    page.get_by_label("Write the unlocked lines of Verse 2 again").click()
    page.wait_for_function(WROTE, timeout=120_000)
    again = texts(page)
    assert again[:2] == after[:2] and again[2][1] == song[2][1] and again[2] != after[2]

    # A rhyme scheme; the first line set by hand (and locked); the second written again rhymes.
    page.select_option("#rhyme_scheme", "AABB")
    line(page, 0, 0).fill("dance in the night")
    page.get_by_label("Write Verse 1 line 2 again").click()
    page.wait_for_function(WROTE, timeout=120_000)
    second = line(page, 0, 1).input_value()
    assert rhymes(last_word(second), "night"), second
    # The keyboard keeps its place through the rewrite; Enter goes to the next line; Space locks.
    active = "document.activeElement.dataset.pos"
    assert page.evaluate(active) == "regen-0-1"
    line(page, 2, 0).focus()
    page.keyboard.press("Enter")
    assert page.evaluate(active) == "2-1"
    page.get_by_label("Lock Verse 2 line 1").focus()
    page.keyboard.press("Space")
    assert page.get_by_label("Lock Verse 2 line 1").is_checked()
    assert page.evaluate(active) == "lock-2-0"
    page.keyboard.press("Space")
    # The pair shares a rhyme colour.
    page.wait_for_function(
        "document.querySelector('[data-pos=\"0-1\"]').parentElement.dataset.rhyme !== undefined"
        " && document.querySelector('[data-pos=\"0-1\"]').parentElement.dataset.rhyme !== ''"
    )
    rows = page.locator("#song .line")
    assert rows.nth(0).get_attribute("data-rhyme") == rows.nth(1).get_attribute("data-rhyme")

    # Endings for the selected line rhyme with its partner.
    line(page, 0, 1).click()
    page.click("#suggest")
    page.wait_for_selector("#ending_list button.ending", timeout=60_000)
    endings = page.locator("#ending_list button.ending").all_text_contents()
    assert endings and all(rhymes(last_word(e), "night") for e in endings), endings
    page.locator("#ending_list button.ending").first.click()
    assert line(page, 0, 1).input_value() == endings[0]

    # Edit the chorus once: every copy changes.
    line(page, 1, 0).fill("we sing it all again")
    assert line(page, 3, 0).input_value() == "we sing it all again"
    assert texts(page)[3][0] == "we sing it all again"

    # Download the .txt: labelled sections, the edits in it.
    with page.expect_download() as got:
        page.click("#download_txt")
    path = tmp_path / got.value.suggested_filename
    got.value.save_as(path)
    text = path.read_text()
    assert (
        text.startswith("[Verse 1]\ndance in the night\n")
        and text.count("we sing it all again") == 2
    )
    assert "\n\n[Chorus]\n" in text and path.suffix == ".txt"
    with page.expect_download() as got:
        page.click("#download_json")
    got.value.save_as(tmp_path / "song.json")
    assert '"seed": 5' in (tmp_path / "song.json").read_text()

    # The song is in this browser's history, edits included, and opens again after a reload.
    page.reload()  # the URL holds the seed: the page writes that song again, a new entry
    page.wait_for_function(FINISHED, timeout=120_000)
    assert int(page.text_content("#history_count")) == 2
    page.click("#history summary")
    page.locator("#history_list button", has_text="dance in the night").click()
    assert line(page, 1, 0).input_value() == "we sing it all again"
    page.close()


def test_screenshots_at_desktop_and_phone_width(url, browser):
    for name, size in (("desktop", (1280, 1000)), ("phone", (390, 844))):
        page = browser.new_page(viewport={"width": size[0], "height": size[1]})
        write_song(page, url, seed=11)
        page.select_option("#rhyme_scheme", "AABB")
        line(page, 0, 0).fill("dance in the night")
        page.get_by_label("Lock Verse 1 line 1").check()
        page.get_by_label("Write Verse 1 line 2 again").click()
        page.wait_for_function(WROTE, timeout=120_000)
        line(page, 0, 1).click()
        page.click("#suggest")
        page.wait_for_selector("#ending_list button.ending", timeout=60_000)
        page.wait_for_timeout(400)  # the debounced analysis colours the rhymes
        out = REPO / "artifacts" / f"page-{name}.png"
        out.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(out), full_page=True)
        assert out.stat().st_size > 10_000
        page.close()
