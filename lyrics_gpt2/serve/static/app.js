// The lyrics page: reads GET v1/genres, streams POST v1/songs/stream into #song.
// Settings and seed live in the URL (?genre=rap&seed=7&...), so a link reproduces a song.
// Every Write draws a new seed unless "Keep this seed" is ticked (a link ticks it).
// URLs are relative, so the page works under a proxy prefix (--root-path /lyrics).
"use strict";
const $ = (id) => document.getElementById(id);
const FIELDS = ["genre", "prompt", "temperature", "top_k", "top_p", "repetition_penalty",
                "max_length", "seed"];
let controller = null;

function showValues() {
  for (const out of document.querySelectorAll("output")) out.value = $(out.htmlFor).value;
}

function settings() {
  const body = {};
  for (const f of FIELDS) {
    const v = $(f).value;
    if (v === "") continue;
    body[f] = (f === "genre" || f === "prompt") ? v : Number(v);
  }
  return body;
}

function linkFor(body) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) q.set(k, v);
  return location.pathname + "?" + q.toString();
}

async function init() {
  const resp = await fetch("v1/genres");
  if (!resp.ok) throw new Error(`GET v1/genres answered ${resp.status}`);
  const info = await resp.json();
  for (const g of info.genres) $("genre").add(new Option(g.tag, g.tag));
  const d = info.defaults;
  $("max_length").max = info.limits.max_length;
  for (const f of FIELDS.slice(2)) if (d[f] !== undefined) $(f).value = d[f];
  const q = new URLSearchParams(location.search);
  for (const f of FIELDS) if (q.has(f)) $(f).value = q.get(f);
  if (q.has("seed")) $("fix_seed").checked = true;
  showValues();
  if (q.has("seed") && q.has("genre")) write();
}

function setBusy(busy) {
  $("write").disabled = busy; $("stop").disabled = !busy;
}

async function write(event) {
  if (event) event.preventDefault();
  if (event && !$("fix_seed").checked) $("seed").value = Math.floor(Math.random() * 2 ** 31);
  const body = settings();
  $("song").textContent = ""; $("status").textContent = "Writing…";
  $("copy").disabled = true; $("link").hidden = true;
  setBusy(true);
  controller = new AbortController();
  try {
    const resp = await fetch("v1/songs/stream", {
      method: "POST", headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body), signal: controller.signal,
    });
    if (!resp.ok) {
      const err = await resp.json().catch(() => ({}));
      throw new Error((err.error && err.error.message) || resp.statusText);
    }
    await readEvents(resp.body.getReader(), body);
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "Stopped." : "Error: " + e.message;
  } finally {
    setBusy(false); controller = null;
    $("copy").disabled = $("song").textContent === "";
  }
}

async function readEvents(reader, body) {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, {stream: true});
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
      const event = (block.match(/^event: (.*)$/m) || [])[1];
      const data = JSON.parse((block.match(/^data: (.*)$/m) || [])[1] || "null");
      if (event === "text") {
        const first = $("song").textContent === "";
        $("song").textContent += data.text;
        if (first) showSong();
      }
      if (event === "song") {
        $("song").textContent = data.lyrics;
        $("status").textContent = (data.ended ? "Done" : "Cut at the length limit") +
          ` (${data.tokens} tokens, seed ${data.seed}).`;
        $("link").href = linkFor(body); $("link").hidden = false;
        history.replaceState(null, "", linkFor(body));
      }
    }
  }
}

$("settings").addEventListener("submit", write);
$("settings").addEventListener("input", showValues);
$("stop").addEventListener("click", () => controller && controller.abort());
$("seed").addEventListener("input", () => { $("fix_seed").checked = true; });

// On a phone the form fills the screen: bring the song into view as it starts.
function showSong() {
  const box = $("song").getBoundingClientRect();
  if (box.top > window.innerHeight - 40 || box.top < 0) {
    $("song").scrollIntoView({behavior: "smooth", block: "start"});
  }
}

// The Clipboard API exists only on secure origins (https, localhost); elsewhere copy through a
// selected text area, and say so when the browser refuses that too.
async function copySong() {
  const text = $("song").textContent;
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return "Copied.";
  }
  const area = document.createElement("textarea");
  area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed";
  area.style.opacity = "0"; document.body.appendChild(area); area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  area.remove();
  if (ok) return "Copied.";
  window.getSelection().selectAllChildren($("song"));
  return "This browser blocks copying on a non-secure (http) page: the song is selected, press Ctrl+C.";
}
$("copy").addEventListener("click", async () => {
  try { $("status").textContent = await copySong(); }
  catch (e) { $("status").textContent = "Cannot copy: " + e.message; }
});
init().catch((e) => { $("status").textContent = "Cannot reach the server: " + e.message; });
