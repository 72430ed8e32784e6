// The song editor of the lyrics page: the song as sections of lines (each line an input, with a
// lock, a "write this line again" button, its syllables in the margin and a colour per rhyme
// group), parsed from streamed text, mirrored across chorus copies, measured by POST v1/analyze
// (the server's songcraft syllables and rhymes: one source of truth with generation and the
// report). Loaded before keep.js and app.js, which call these functions.
"use strict";
const $ = (id) => document.getElementById(id);
const LABELS = {intro: "Intro", verse: "Verse", "pre-chorus": "Pre-chorus", chorus: "Chorus",
                hook: "Hook", refrain: "Refrain", bridge: "Bridge", outro: "Outro", other: "Stanza"};
const REPEATING = new Set(["chorus", "hook", "refrain"]);
// The song being edited: {sections: [{kind, lines: [{text, locked}]}]}.
let song = {sections: []};
let selected = null;  // [section, line] of the line last clicked or focused
let analyzeTimer = null;
let lastFocus = null;  // data-pos of the editor's control focused last
$("song").addEventListener("focusin", (e) => { lastFocus = e.target.dataset.pos || null; });

function songText(withLabels = false) {
  const labels = sectionLabels();
  return song.sections.map((s, i) =>
    (withLabels ? `[${labels[i]}]\n` : "") + s.lines.map((l) => l.text).join("\n")).join("\n\n");
}

function sectionLabels() {
  const seen = {};
  const repeats = {};
  for (const s of song.sections) repeats[s.kind] = (repeats[s.kind] || 0) + 1;
  return song.sections.map((s) => {
    seen[s.kind] = (seen[s.kind] || 0) + 1;
    const many = repeats[s.kind] > 1 && !(REPEATING.has(s.kind) && copyMode());
    return LABELS[s.kind] + (many ? " " + seen[s.kind] : "");
  });
}

function copyMode() { return $("copy_mode").checked; }

// Sections whose text another one shows (copy mode): [first, ...copies] per repeating kind.
function copiesOf(index) {
  const kind = song.sections[index].kind;
  if (!copyMode() || !REPEATING.has(kind)) return [index];
  return song.sections.map((s, i) => (s.kind === kind ? i : -1)).filter((i) => i >= 0);
}

// Streamed text -> sections: stanzas apart by a blank line; kinds from the form when one was
// asked for (the server keeps to it), else "other" until the finished song names them.
function parseText(text, form) {
  const stanzas = text.replace(/\r/g, "").split(/\n[ \t]*\n/).filter((s) => s.trim() !== "");
  return stanzas.map((stanza, i) => ({
    kind: (form && form[i]) || "other",
    lines: stanza.split("\n").filter((l) => l.trim() !== "").map((l) => ({text: l.trim(), locked: false})),
  }));
}

function fromSections(parts) {
  return parts.map((p) => ({
    kind: p.kind,
    lines: p.text.split("\n").filter((l) => l.trim() !== "").map((l) => ({text: l.trim(), locked: false})),
  }));
}

function render() {
  const box = $("song");
  const labels = sectionLabels();
  // Keep the keyboard's place: the control focused (or last focused, when a busy button lost
  // focus) is focused again after the rebuild.
  const active = document.activeElement;
  const focus = box.contains(active) ? active.dataset.pos
    : (active === document.body || active === null) ? lastFocus : null;
  box.replaceChildren();
  song.sections.forEach((sec, s) => {
    const part = document.createElement("section");
    part.className = "sec";
    part.dataset.kind = sec.kind;
    const head = document.createElement("div");
    head.className = "sec-head";
    const h = document.createElement("h2");
    h.textContent = labels[s];
    h.id = `sec-${s}`;
    const lockAll = button("Lock all", `Lock every line of ${labels[s]}`, () => lockSection(s));
    const unlockAll = button("Unlock", `Unlock every line of ${labels[s]}`, () => lockSection(s, false));
    const again = button("Rewrite", `Write the unlocked lines of ${labels[s]} again`, () => fillLines(sectionPositions(s), labels[s]));
    again.className = "regen-section";
    head.append(h, lockAll, unlockAll, again);
    part.append(head);
    part.setAttribute("aria-labelledby", h.id);
    sec.lines.forEach((line, l) => part.append(lineRow(labels[s], s, l, line)));
    box.append(part);
  });
  if (focus) { const el = box.querySelector(`[data-pos="${focus}"]`); if (el && !el.disabled) el.focus(); }
  const empty = song.sections.length === 0;
  for (const id of ["regen_all", "download_txt", "download_json", "copy"]) $(id).disabled = empty || busy;
  scheduleAnalysis();
}

function lineRow(label, s, l, line) {
  const row = document.createElement("div");
  row.className = "line" + (line.locked ? " locked" : "");
  const lock = document.createElement("input");
  lock.type = "checkbox"; lock.className = "lock"; lock.checked = line.locked; lock.dataset.pos = `lock-${s}-${l}`;
  lock.setAttribute("aria-label", `Lock ${label} line ${l + 1}`);
  lock.title = "Lock: keep this line when writing again";
  lock.addEventListener("change", () => setLine(s, l, {locked: lock.checked}));
  const input = document.createElement("input");
  input.className = "text"; input.value = line.text; input.dataset.pos = `${s}-${l}`;
  input.setAttribute("aria-label", `${label} line ${l + 1}`); input.maxLength = 200;
  input.addEventListener("input", () => setLine(s, l, {text: input.value}, input));
  input.addEventListener("focus", () => select(s, l));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      e.preventDefault();
      const next = $("song").querySelectorAll("input.text")[[...$("song").querySelectorAll("input.text")].indexOf(input) + 1];
      if (next) next.focus();
    }
  });
  const syl = document.createElement("span");
  syl.className = "syl"; syl.dataset.pos = `syl-${s}-${l}`; syl.title = "syllables";
  const again = button("↻", `Write ${label} line ${l + 1} again`, () => fillLines([[s, l]], `${label} line ${l + 1}`));
  again.className = "regen-line"; again.disabled = line.locked || busy; again.dataset.pos = `regen-${s}-${l}`;
  row.append(lock, input, syl, again);
  return row;
}

function button(text, name, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.textContent = text; b.setAttribute("aria-label", name); b.title = name;
  b.disabled = busy;
  b.addEventListener("click", onClick);
  return b;
}

// An edit or a lock: applied to the line and, in copy mode, to the same line of every copy.
function setLine(s, l, change, typing) {
  for (const i of copiesOf(s)) {
    const line = song.sections[i].lines[l];
    if (!line) continue;
    Object.assign(line, change);
    const el = $("song").querySelector(`input.text[data-pos="${i}-${l}"]`);
    if (el && el !== typing && change.text !== undefined) el.value = change.text;
  }
  if (change.locked !== undefined) render(); else scheduleAnalysis();
  saveCurrent();
}

function lockSection(s, locked = true) {
  for (const i of copiesOf(s)) for (const line of song.sections[i].lines) line.locked = locked;
  render(); saveCurrent();
}

function sectionPositions(s) {
  return song.sections[s].lines.map((l, j) => (l.locked ? null : [s, j])).filter(Boolean);
}

function select(s, l) {
  selected = [s, l];
  $("endings_for").textContent = `For ${sectionLabels()[s]} line ${l + 1}: “${song.sections[s].lines[l].text}”`;
  $("suggest").disabled = busy;
  $("ending_list").replaceChildren();
}

function scheduleAnalysis() {
  clearTimeout(analyzeTimer);
  analyzeTimer = setTimeout(analyze, 200);
}

async function analyze() {
  if (song.sections.length === 0) return;
  const body = {sections: song.sections.map((s) => s.lines.map((l) => l.text.slice(0, 200)).slice(0, 40)).slice(0, 32)};
  let info;
  try {
    const resp = await fetch("v1/analyze", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    if (!resp.ok) return;
    info = await resp.json();
  } catch (e) { return; }
  const targets = syllableTargets();
  info.sections.forEach((lines, s) => lines.forEach((x, l) => {
    const syl = $("song").querySelector(`[data-pos="syl-${s}-${l}"]`);
    if (!syl) return;
    const want = targets.length ? targets[l % targets.length] : null;
    syl.textContent = want ? `${x.syllables}/${want}` : String(x.syllables);
    syl.classList.toggle("off", want !== null && Math.abs(x.syllables - want) > 1);
    syl.setAttribute("aria-label", `${x.syllables} syllables` + (want ? ` of ${want}` : ""));
    const row = syl.parentElement;
    row.dataset.rhyme = x.rhyme === null ? "" : String(x.rhyme % 8);
    row.querySelector("input.text").title = x.rhyme === null ? "" : `rhyme group ${x.rhyme + 1}`;
  }));
}

function syllableTargets() {
  const v = $("syllables").value.trim();
  return v ? v.split(",").map((x) => Number(x.trim())).filter((n) => n > 0) : [];
}

// Screen readers hear each finished line once (never each token).
let announced = 0;
function announceLines(lines, final) {
  const done = final ? lines.length : Math.max(lines.length - 1, 0);
  if (done > announced) {
    $("announce").textContent = lines.slice(announced, done).join(". ");
    announced = done;
  }
}
