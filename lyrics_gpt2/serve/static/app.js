// The lyrics page: reads GET v1/genres, streams POST v1/songs/stream into the editor (song.js),
// writes lines again through POST v1/fill and offers rhyming endings through POST v1/endings.
// Settings and seed live in the URL (?genre=rap&seed=7&form=...), so a link reproduces a song.
// Every Write draws a new seed unless "Keep this seed" is ticked (a link ticks it).
// URLs are relative, so the page works under a proxy prefix (--root-path /lyrics).
"use strict";
const SAMPLING = ["temperature", "top_k", "top_p", "repetition_penalty"];
const FIELDS = ["genre", "prompt", ...SAMPLING, "max_length", "seed"];
const SHAPE = ["form", "rhyme_scheme", "syllables", "repeat_sections"];
let controller = null;
let busy = false;
let hasSections = false;

function showValues() {
  for (const out of document.querySelectorAll("output")) out.value = $(out.htmlFor).value;
}

function formValue() {
  const preset = $("form_preset").value;
  if (!hasSections) return "";
  return preset === "own" ? $("form").value.trim() : preset;
}

function shape() {
  const out = {rhyme_scheme: $("rhyme_scheme").value, syllables: $("syllables").value.trim(),
               repeat_sections: copyMode() ? "copy" : "rewrite"};
  const form = formValue();
  if (form) out.form = form;
  for (const k of Object.keys(out)) if (out[k] === "") delete out[k];
  return out;
}

function settings() {
  const body = {};
  for (const f of FIELDS) {
    const v = $(f).value;
    if (v === "") continue;
    body[f] = (f === "genre" || f === "prompt") ? v : Number(v);
  }
  return {...body, ...shape()};
}

function applySettings(values) {
  const get = (k) => (values instanceof URLSearchParams ? values.get(k) : values[k]);
  const has = (k) => get(k) !== null && get(k) !== undefined;
  for (const f of FIELDS) if (has(f)) $(f).value = get(f);
  if (has("rhyme_scheme")) {
    const v = String(get("rhyme_scheme")).toUpperCase();
    if (![...$("rhyme_scheme").options].some((o) => o.value === v)) $("rhyme_scheme").add(new Option(v, v));
    $("rhyme_scheme").value = v;
  } else $("rhyme_scheme").value = "";
  $("syllables").value = has("syllables") ? get("syllables") : "";
  $("copy_mode").checked = get("repeat_sections") !== "rewrite";
  const form = has("form") ? String(get("form")) : "";
  const preset = [...$("form_preset").options].find((o) => o.value === form);
  $("form_preset").value = preset ? form : "own";
  if (!preset) $("form").value = form;
  $("form_own").hidden = $("form_preset").value !== "own";
  showValues(); wildnessFromValues();
}

// "Safer <-> wilder": one slider moving temperature, top-k and top-p together; the exact values
// stay one click away (the <details>), and moving them moves this slider back.
function fromWildness() {
  const w = Number($("wildness").value) / 100;
  $("temperature").value = (0.6 + 0.8 * w).toFixed(2);
  $("top_k").value = Math.round(20 + 80 * w);
  $("top_p").value = (0.8 + 0.2 * w).toFixed(2);
  showValues(); describeWildness();
}
function wildnessFromValues() {
  const t = Number($("temperature").value);
  $("wildness").value = Math.round(Math.min(1, Math.max(0, (t - 0.6) / 0.8)) * 100);
  describeWildness();
}
function describeWildness() {
  const w = Number($("wildness").value);
  const words = w < 25 ? "safe: common words, few surprises" : w < 60 ? "balanced"
    : w < 85 ? "adventurous" : "wild: surprising, sometimes nonsense";
  $("wildness").setAttribute("aria-valuetext", `${words} (temperature ${$("temperature").value})`);
}

async function init() {
  const resp = await fetch("v1/genres");
  if (!resp.ok) throw new Error(`GET v1/genres answered ${resp.status}`);
  const info = await resp.json();
  for (const g of info.genres) $("genre").add(new Option(g.tag, g.tag));
  const d = info.defaults;
  $("max_length").max = info.limits.max_length;
  for (const f of FIELDS.slice(2)) if (d[f] !== undefined) $(f).value = d[f];
  hasSections = (info.sections || []).length > 0;
  $("form_preset").disabled = !hasSections;
  $("shape_note").textContent = hasSections ? ""
    : "This model was trained without section tokens: it cannot follow a form, so stanzas are labelled Stanza. Rhyme and syllables still work.";
  const q = new URLSearchParams(location.search);
  applySettings(q);
  if (q.has("seed")) $("fix_seed").checked = true;
  showValues(); wildnessFromValues(); showHistory();
  if (q.has("seed") && q.has("genre")) write();
}

function setBusy(b) {
  busy = b;
  $("write").disabled = b; $("stop").disabled = !b;
  for (const el of document.querySelectorAll("#song button, #song_tools button, #suggest")) {
    el.disabled = b || (el.classList.contains("regen-line") && el.parentElement.classList.contains("locked"))
      || (el.id === "suggest" && !selected) || (el.closest("#song_tools") && song.sections.length === 0);
  }
}

async function post(path, body) {
  const resp = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify(body), signal: controller && controller.signal,
  });
  if (!resp.ok) {
    const err = await resp.json().catch(() => ({}));
    const e = err.error || {};
    throw new Error((e.param ? `${e.param}: ` : "") + (e.message || resp.statusText));
  }
  return resp;
}

async function write(event) {
  if (event) event.preventDefault();
  if (event && !$("fix_seed").checked) $("seed").value = Math.floor(Math.random() * 2 ** 31);
  const body = settings();
  song = {sections: []}; announced = 0; lastFocus = null; render();
  $("status").textContent = "Writing…";
  $("link").hidden = true;
  controller = new AbortController();
  setBusy(true);
  try {
    const resp = await post("v1/songs/stream", body);
    await readEvents(resp.body.getReader(), body);
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "Stopped." : "Error: " + e.message;
  } finally {
    controller = null; setBusy(false); render();
  }
}

async function readEvents(reader, body) {
  const decoder = new TextDecoder();
  const form = body.form ? body.form.split(/[\s,]+/) : null;
  let buffer = "", raw = "";
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
        const first = raw === "";
        raw += data.text;
        song = {sections: parseText(raw, form)};
        render(); setBusy(true);
        announceLines(song.sections.flatMap((s) => s.lines.map((l) => l.text)), false);
        if (first) showSong();
      }
      if (event === "song") {
        song = {sections: data.sections ? fromSections(data.sections) : parseText(data.lyrics, form)};
        render();
        announceLines(song.sections.flatMap((s) => s.lines.map((l) => l.text)), true);
        $("status").textContent = (data.ended ? "Done" : "Cut at the length limit") +
          ` (${data.tokens} tokens, seed ${data.seed}).`;
        currentSettings = body;
        $("link").href = linkFor(body); $("link").hidden = false;
        history.replaceState(null, "", linkFor(body));
        saveCurrent(true);
      }
      if (event === "error") throw new Error(data.error.message);
    }
  }
}

function fillBody(extra) {
  const s = settings();
  const body = {genre: s.genre, sections: song.sections, ...extra};
  for (const k of ["rhyme_scheme", "syllables", "repeat_sections"]) if (s[k] !== undefined) body[k] = s[k];
  return body;
}

// Write the given [section, line] positions again (one request; the server fills them in song
// order, each conditioned on the song before it, and keeps chorus copies equal).
async function fillLines(positions, what, keepBusy = false) {
  if (positions.length === 0) { $("status").textContent = `Every line of ${what} is locked.`; return true; }
  const s = settings();
  // A new take every press ("Keep this seed" is for Write); the status names the seed used.
  const seed = Math.floor(Math.random() * 2 ** 31);
  const sampling = Object.fromEntries(SAMPLING.map((k) => [k, s[k]]));
  const own = !controller;
  if (own) { controller = new AbortController(); setBusy(true); }
  $("status").textContent = `Writing ${what} again…`;
  try {
    const resp = await post("v1/fill", fillBody({fill: positions, seed, ...sampling}));
    const out = await resp.json();
    song.sections = out.sections;
    render(); setBusy(true);
    const labels = sectionLabels();
    $("announce").textContent = out.filled.map((f) => `${labels[f.section]} line ${f.line + 1}: ${f.text}`).join(". ");
    const n = out.filled.length;
    $("status").textContent = (n === 1 && positions.length === 1 && what.includes(" line ")
      ? `Wrote ${what} again` : `Wrote ${n} line${n === 1 ? "" : "s"} of ${what} again`) + ` (seed ${seed}).`;
    saveCurrent();
    return true;
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "Stopped." : "Error: " + e.message;
    return false;
  } finally {
    if (own && !keepBusy) { controller = null; setBusy(false); render(); }
  }
}

// Every unlocked line, a section at a time (each sees the sections rewritten before it).
async function fillAll() {
  controller = new AbortController(); setBusy(true);
  try {
    const labels = sectionLabels();
    for (let s = 0; s < song.sections.length; s++) {
      if (copiesOf(s)[0] !== s) continue;  // a copy follows its first
      const ok = await fillLines(sectionPositions(s).filter(Boolean), labels[s], true);
      if (!ok || !controller || controller.signal.aborted) break;
    }
    if (controller && !controller.signal.aborted) $("status").textContent = "Wrote every unlocked line again.";
  } finally { controller = null; setBusy(false); render(); }
}

async function suggest() {
  if (!selected) return;
  const [s, l] = selected;
  controller = new AbortController(); setBusy(true);
  $("ending_list").replaceChildren();
  try {
    const resp = await post("v1/endings", fillBody({at: [s, l], n: 5}));
    const out = await resp.json();
    $("endings_for").textContent = out.partner
      ? `Endings for ${sectionLabels()[s]} line ${l + 1} that rhyme with “${out.partner}”, likeliest first:`
      : `No rhyme partner for ${sectionLabels()[s]} line ${l + 1} (choose a rhyme scheme): the model's likeliest last words.`;
    if (out.endings.length === 0) $("endings_for").textContent += " None found in the model's whole-word vocabulary.";
    for (const e of out.endings) {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.className = "ending"; b.textContent = e.text;
      b.setAttribute("aria-label", `Use “${e.text}” (${e.syllables} syllables)`);
      b.addEventListener("click", () => {
        setLine(s, l, {text: e.text});
        const el = $("song").querySelector(`input.text[data-pos="${s}-${l}"]`);
        if (el) { el.value = e.text; el.focus(); }
      });
      li.append(b);
      $("ending_list").append(li);
    }
  } catch (e) {
    $("status").textContent = e.name === "AbortError" ? "Stopped." : "Error: " + e.message;
  } finally { controller = null; setBusy(false); }
}

$("settings").addEventListener("submit", write);
$("settings").addEventListener("input", (e) => {
  showValues();
  if (e.target.id === "wildness") fromWildness();
  else if (SAMPLING.includes(e.target.id)) wildnessFromValues();
  if (e.target.id === "syllables") scheduleAnalysis();
});
$("form_preset").addEventListener("change", () => { $("form_own").hidden = $("form_preset").value !== "own"; });
$("copy_mode").addEventListener("change", () => render());
$("stop").addEventListener("click", () => controller && controller.abort());
$("seed").addEventListener("input", () => { $("fix_seed").checked = true; });
$("regen_all").addEventListener("click", fillAll);
$("suggest").addEventListener("click", suggest);

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
  const text = songText();
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return "Copied.";
  }
  if ($("copy_area")) $("copy_area").remove();
  const area = document.createElement("textarea");
  area.id = "copy_area"; area.setAttribute("aria-label", "The song's text, to copy");
  area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed";
  area.style.opacity = "0"; document.body.appendChild(area); area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
  if (ok) { area.remove(); return "Copied."; }
  area.style.opacity = "1"; area.style.position = "static"; area.select();
  return "This browser blocks copying on a non-secure (http) page: the song is selected below, press Ctrl+C.";
}
$("copy").addEventListener("click", async () => {
  try { $("status").textContent = await copySong(); }
  catch (e) { $("status").textContent = "Cannot copy: " + e.message; }
});
init().catch((e) => { $("status").textContent = "Cannot reach the server: " + e.message; });
