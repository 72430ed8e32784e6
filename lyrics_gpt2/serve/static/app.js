// The lyrics page: reads GET /v1/genres, streams POST /v1/songs/stream into #song.
// Settings and seed live in the URL (?genre=rap&seed=7&...), so a link reproduces a song.
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
  const info = await (await fetch("/v1/genres")).json();
  for (const g of info.genres) $("genre").add(new Option(g.tag, g.tag));
  const d = info.defaults;
  $("max_length").max = info.limits.max_length;
  for (const f of FIELDS.slice(2)) if (d[f] !== undefined) $(f).value = d[f];
  const q = new URLSearchParams(location.search);
  for (const f of FIELDS) if (q.has(f)) $(f).value = q.get(f);
  showValues();
  if (q.has("seed") && q.has("genre")) write();
}

function setBusy(busy) {
  $("write").disabled = busy; $("stop").disabled = !busy;
}

async function write(event) {
  if (event) event.preventDefault();
  const body = settings();
  $("song").textContent = ""; $("status").textContent = "Writing…";
  $("copy").disabled = true; $("link").hidden = true;
  setBusy(true);
  controller = new AbortController();
  try {
    const resp = await fetch("/v1/songs/stream", {
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
      if (event === "text") $("song").textContent += data.text;
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
$("copy").addEventListener("click", async () => {
  await navigator.clipboard.writeText($("song").textContent);
  $("status").textContent = "Copied.";
});
init().catch((e) => { $("status").textContent = "Cannot reach the server: " + e.message; });
