// The board's only script: live tiles on the overview, live rows on the roll call, live pictures on
// the patrol wall, the countdown.
// Vanilla JS and EventSource (server-sent events): nothing to build, nothing fetched from elsewhere.
"use strict";

const STATES = ["ok", "warn", "fail", "unknown", "offline", "silent", "never"];

function showCounts(counts) {
  // Every prefecture's counts and the total, as the server counted them (a folded prefecture has no
  // tiles in the page to count).
  for (const section of document.querySelectorAll(".prefecture")) {
    const mine = counts[section.dataset.prefecture] || {};
    section.querySelector(".pcounts").innerHTML = STATES.filter((s) => mine[s]).map(
      (s) => `<span class="count ${s}"><i class="dot ${s}"></i><b data-count="${s}">${Number(mine[s])}</b></span>`).join("");
  }
  const total = counts[""] || {};
  for (const s of STATES) {
    const cell = document.querySelector(`#totals b[data-count="${s}"]`);
    if (cell) cell.textContent = total[s] || 0;
  }
}

const recentBatches = [];  // [generation, tiles]: replayed onto a prefecture unfolded after they came
const RECENT_BATCHES = 600;

function paintTiles(tree, tiles) {
  for (const tile of tiles) {
    const section = tree.querySelector(`section.prefecture[data-prefecture="${CSS.escape(tile.p)}"]`);
    if (section && section.classList.contains("folded") && !section.querySelector(".counties")) continue;
    const element = document.getElementById(`t:${tile.k}`) || placeNewTile(tree, tile);
    if (!element) continue;
    element.className = `t ${tile.c}`;
    element.dataset.changed = String(Date.now());
  }
}

function unfold(tree, button) {
  button.disabled = true;
  fetch(button.dataset.fragment, {credentials: "same-origin"}).then(async (response) => {
    if (!response.ok) { button.disabled = false; return; }
    const holder = document.createElement("template");
    holder.innerHTML = (await response.text()).trim();  // the board's own template, escaped there
    const counties = holder.content.firstElementChild;
    const since = Number(counties.dataset.generation);
    button.replaceWith(counties);
    for (const [generation, tiles] of recentBatches) if (generation > since) paintTiles(tree, tiles);
  });
}

function placeNewTile(tree, tile) {
  // A venue first heard while the page is open: its tile goes into its prefecture and county. A new
  // prefecture needs its heading and counts laid out by the server, so that one case reloads.
  const section = tree.querySelector(`section.prefecture[data-prefecture="${CSS.escape(tile.p)}"]`);
  if (!section) { scheduleReload(); return null; }
  const holder = section.querySelector(".counties") || section;
  let county = section.querySelector(`div.county[data-county="${CSS.escape(tile.u)}"]`);
  if (!county) {
    county = document.createElement("div");
    county.className = "county";
    county.dataset.county = tile.u;
    const label = document.createElement("span");
    label.className = "cname";
    label.textContent = tile.u === "_" ? tree.dataset.ownVenue : tile.u;
    county.appendChild(label);
    holder.appendChild(county);
  }
  const link = document.createElement("a");
  link.id = `t:${tile.k}`;
  link.href = `/venue/${tile.k}`;
  link.textContent = tile.n;  // text, never markup: a venue's name comes from its own status
  county.appendChild(link);
  return link;
}

let reloadDue = false;
function scheduleReload() {
  if (reloadDue) return;
  reloadDue = true;
  setTimeout(() => window.location.reload(), 1000);
}

function liveOverview(tree) {
  const live = document.getElementById("live");
  const source = new EventSource(`${tree.dataset.stream}?since=${tree.dataset.generation}`);
  source.addEventListener("tiles", (event) => {
    const tiles = JSON.parse(event.data);
    recentBatches.push([Number(event.lastEventId), tiles]);
    if (recentBatches.length > RECENT_BATCHES) recentBatches.shift();
    paintTiles(tree, tiles);
    window.boardTileUpdates = (window.boardTileUpdates || 0) + 1;
  });
  source.addEventListener("counts", (event) => showCounts(JSON.parse(event.data)));
  for (const button of tree.querySelectorAll("button.unfold")) button.addEventListener("click", () => unfold(tree, button));
  source.addEventListener("reload", () => window.location.reload());
  source.onopen = () => { live.classList.remove("stale"); live.textContent = live.dataset.on; };
  source.onerror = () => { live.classList.add("stale"); live.textContent = live.dataset.off; };
}

function liveRollCall(table) {
  const source = new EventSource(table.dataset.stream);
  const status = document.getElementById("rollcall-status");
  const summary = document.getElementById("rollcall-summary");
  const fill = (data) => {
    for (const row of data.rows) {
      const tr = document.getElementById(`r:${row.venue}`);
      if (!tr) continue;
      tr.className = row.answered ? (row.verdict || "unknown") : (data.done ? "silent" : "waiting");
      tr.querySelector(".answered").textContent = row.answered ? table.dataset.yes
        : (data.done ? table.dataset.silent : table.dataset.waiting);
      tr.querySelector(".verdict").textContent = row.verdict || "";
      tr.querySelector(".failed").textContent = (row.failed_items || []).join(", ");
      tr.querySelector(".seconds").textContent = row.seconds == null ? "" : String(row.seconds);
    }
  };
  source.addEventListener("rows", (event) => fill(JSON.parse(event.data)));
  source.addEventListener("done", (event) => {
    const data = JSON.parse(event.data);
    fill(data);
    source.close();
    status.querySelector("b").textContent = status.dataset.done;
    if (data.summary) {
      let text = summary.dataset.template;
      for (const [key, value] of Object.entries(data.summary)) text = text.replace(`{${key}}`, value);
      summary.textContent = text;
    }
    table.dataset.finished = "1";
  });
}

function livePatrol(wall) {
  // Each picture stored after the page was drawn arrives as the server-drawn figure for its venue.
  const source = new EventSource(wall.dataset.stream);
  source.addEventListener("card", (event) => {
    const data = JSON.parse(event.data);
    const old = document.getElementById(`s:${data.venue}`);
    if (data.html === null) { if (old) old.remove(); return; }  // its new picture fails the filter
    const holder = document.createElement("template");
    holder.innerHTML = data.html.trim();  // markup drawn by the board's own template (escaped there)
    const figure = holder.content.firstElementChild;
    if (old) old.replaceWith(figure); else wall.appendChild(figure);
    const empty = document.getElementById("wall-empty");
    if (empty) empty.remove();
    window.boardPatrolUpdates = (window.boardPatrolUpdates || 0) + 1;
  });
}

function countdown() {
  const element = document.querySelector(".countdown");
  if (!element) return;
  const start = Date.parse(element.dataset.start);
  const tick = () => {
    let left = Math.max(0, Math.round((start - Date.now()) / 1000));
    const days = Math.floor(left / 86400); left %= 86400;
    const hh = String(Math.floor(left / 3600)).padStart(2, "0");
    const mm = String(Math.floor((left % 3600) / 60)).padStart(2, "0");
    const ss = String(left % 60).padStart(2, "0");
    element.textContent = `${days ? days + "d " : ""}${hh}:${mm}:${ss}`;
  };
  tick();
  setInterval(tick, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  const tree = document.getElementById("tree");
  if (tree) liveOverview(tree);
  const rows = document.getElementById("rollcall-rows");
  if (rows && rows.dataset.stream) liveRollCall(rows);
  const wall = document.getElementById("wall");
  if (wall && wall.dataset.stream) livePatrol(wall);
  countdown();
});
