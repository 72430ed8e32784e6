// Keeping the work on the lyrics page: a history of songs in this browser's localStorage (the
// last HISTORY_MAX, newest first; each with its settings and seed), downloads as .txt (labelled
// sections) and .json (settings, seed and sections), and the reproducing link (settings and seed
// in the URL: opening it writes the same song again). Loaded after song.js, before app.js.
"use strict";
const HISTORY_KEY = "lyrics-gpt2:songs";
const HISTORY_MAX = 30;
let currentId = null;  // the history entry the editor shows
let currentSettings = null;  // the settings (seed included) the song was written with

function loadHistory() {
  try { return JSON.parse(localStorage.getItem(HISTORY_KEY) || "[]"); } catch (e) { return []; }
}

function storeHistory(items) {
  try { localStorage.setItem(HISTORY_KEY, JSON.stringify(items.slice(0, HISTORY_MAX))); }
  catch (e) { $("status").textContent = "This browser would not keep the song (storage full or off)."; }
  showHistory();
}

// A new song (after Write) starts an entry; edits and rewrites update it.
function saveCurrent(fresh = false) {
  if (song.sections.length === 0 || !currentSettings) return;
  const items = loadHistory();
  if (fresh || currentId === null) currentId = String(Date.now());
  const entry = {id: currentId, when: new Date().toISOString(), title: firstLine(),
                 settings: currentSettings, sections: song.sections};
  const at = items.findIndex((x) => x.id === currentId);
  if (at >= 0) items.splice(at, 1);
  items.unshift(entry);
  storeHistory(items);
}

function firstLine() {
  for (const s of song.sections) for (const l of s.lines) if (l.text.trim()) return l.text.trim().slice(0, 60);
  return "(empty)";
}

function showHistory() {
  const items = loadHistory();
  $("history_count").textContent = items.length;
  const list = $("history_list");
  list.replaceChildren();
  for (const item of items) {
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.textContent = `${item.title} (${item.settings.genre}, ${new Date(item.when).toLocaleString()})`;
    open.addEventListener("click", () => openEntry(item));
    const del = document.createElement("button");
    del.type = "button"; del.textContent = "Remove";
    del.setAttribute("aria-label", `Remove “${item.title}” from this browser`);
    del.addEventListener("click", () => storeHistory(loadHistory().filter((x) => x.id !== item.id)));
    li.append(open, " ", del);
    list.append(li);
  }
}

function openEntry(item) {
  currentId = item.id; currentSettings = item.settings;
  applySettings(item.settings);
  song = {sections: item.sections};
  announced = 0;
  render();
  $("status").textContent = `Opened “${item.title}”.`;
  $("link").href = linkFor(item.settings); $("link").hidden = false;
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = document.createElement("a");
  a.href = url; a.download = name; document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function fileName(ext) {
  const words = firstLine().toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return (words || "song") + "." + ext;
}

$("download_txt").addEventListener("click", () => download(fileName("txt"), "text/plain", songText(true) + "\n"));
$("download_json").addEventListener("click", () => download(fileName("json"), "application/json",
  JSON.stringify({settings: currentSettings, seed: currentSettings && currentSettings.seed,
                  sections: song.sections, text: songText()}, null, 2) + "\n"));

function linkFor(body) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(body)) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  return location.pathname + "?" + q.toString();
}
