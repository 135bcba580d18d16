// The labeling queue: keys label the layer shown; the next ones are already fetched and decoded.
(() => {
  "use strict";
  const root = document.getElementById("queue");
  const frame = document.getElementById("frame");
  const caption = document.getElementById("caption");
  const verdict = document.getElementById("verdict");
  const help = document.getElementById("help");
  const csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;
  const params = new URLSearchParams(location.search);
  const blind = params.get("blind") === "1";
  const AHEAD = 10, UNDO_DEPTH = 5, BATCH = 10;

  const items = [];       // every layer fetched, in the order shown
  let pos = 0;            // the one on screen
  let unsent = [];        // {item, label, previous} newest last; the last UNDO_DEPTH stay undoable
  let fetching = null, exhausted = false, heat = false, sessionCount = 0;
  const latencies = [], phases = [];

  function preload(item) {
    item.img = new Image();
    item.img.className = "layer-img";
    item.img.alt = `layer ${item.layer}`;
    item.img.src = item.image_url;
    item.ready = item.img.decode().catch(() => {});
    if (item.heatmap_url && !blind) {
      item.heat = new Image();
      item.heat.className = "heat-img";
      item.heat.alt = "heatmap";
      item.heat.src = item.heatmap_url;
      item.heat.decode().catch(() => {});
    }
  }

  // The frame takes the image's shape, so the heatmap (the whole image, resized) lies on it exactly.
  function fitFrame(item) {
    const apply = () => {
      if (items[pos] !== item) return;
      const {naturalWidth: w, naturalHeight: h} = item.img;
      frame.style.aspectRatio = w && h ? `${w} / ${h}` : "";
    };
    apply();
    item.ready.then(apply);
  }

  async function fetchMore() {
    if (fetching || exhausted) return fetching;
    const query = new URLSearchParams({mode: params.get("mode") || "uncertainty", count: AHEAD});
    if (params.get("machine")) query.set("machine", params.get("machine"));
    // What this page already holds (or skipped) is not wanted again; saved labels leave the queue.
    const held = items.filter((i) => !i.saved).map((i) => i.id).slice(-500);
    if (held.length) query.set("exclude", held.join(","));
    fetching = fetch(`${root.dataset.api}?${query}`, {credentials: "same-origin"})
      .then((r) => r.json())
      .then((body) => {
        const known = new Set(items.map((i) => i.id));
        const fresh = body.items.filter((i) => !known.has(i.id));
        fresh.forEach(preload);
        items.push(...fresh);
        if (!fresh.length) exhausted = true;
        showStats(body.stats);
      })
      .finally(() => { fetching = null; });
    return fetching;
  }

  function fmt(value) { return value == null ? "—" : Number(value).toPrecision(4); }

  function show(started) {
    const item = items[pos];
    if (!item) {
      frame.replaceChildren(Object.assign(document.createElement("div"),
        {className: "empty-note", id: "empty", textContent: exhausted ? "Nothing left to label. 🎉" : "Loading…"}));
      caption.textContent = "";
      verdict.innerHTML = "";
      if (!exhausted) fetchMore().then(() => items[pos] && show(started));
      return;
    }
    const nodes = [item.img];
    if (heat && item.heat) nodes.push(item.heat);
    frame.replaceChildren(...nodes);
    fitFrame(item);
    frame.dataset.layer = item.id;
    caption.innerHTML = "";
    const link = Object.assign(document.createElement("a"), {href: item.detail_url, textContent: `${item.machine} · job ${item.job} · layer ${item.layer}`});
    caption.append(link, ` · ${pos + 1} of ${items.length}${item.label ? " · labeled " + item.label : ""}`);
    if (blind || item.score == null) {
      verdict.innerHTML = blind ? '<span class="muted">Blind mode: the model\'s verdict is hidden.</span>' : '<span class="muted">Not scored.</span>';
    } else {
      const ratio = item.score / item.threshold;
      verdict.innerHTML = `<div class="${item.anomalous ? "bad" : "ok"}" data-testid="verdict">${item.anomalous ? "Anomalous" : "Normal"}</div>
        <div>score ${fmt(item.score)} · threshold ${fmt(item.threshold)}</div><div class="muted">${ratio.toFixed(2)}× threshold</div>`;
    }
    if (started !== undefined) {
      const swapped = performance.now() - started;
      item.ready.then(() => {
        const ready = performance.now() - started;
        requestAnimationFrame(() => {
          latencies.push(performance.now() - started);
          phases.push({swapped, ready});
        });
      });
    }
    if (items.length - pos <= AHEAD) fetchMore();  // keep 10 to 20 layers decoded ahead
  }

  function move(step, started) {
    pos = Math.max(0, Math.min(items.length, pos + step));
    show(started);
  }

  function label(value, started) {
    const item = items[pos];
    if (!item) return;
    unsent = unsent.filter((entry) => entry.item !== item);
    unsent.push({item, label: value, previous: item.label});
    item.label = value;
    sessionCount += 1;
    if (unsent.length >= UNDO_DEPTH + BATCH) flush(false);
    move(1, started);
    showCounts();
  }

  function undo(started) {
    const entry = unsent.pop();
    if (!entry) { caption.textContent = "Nothing to undo: earlier labels are saved."; return; }
    entry.item.label = entry.previous;
    sessionCount -= 1;
    pos = items.indexOf(entry.item);
    show(started);
    showCounts();
  }

  function flush(all) {
    const batch = all ? unsent : unsent.slice(0, Math.max(0, unsent.length - UNDO_DEPTH));
    if (!batch.length) return Promise.resolve();
    unsent = unsent.filter((entry) => !batch.includes(entry));
    showCounts();
    return fetch(root.dataset.batch, {
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify({labels: batch.map((e) => ({layer: e.item.id, label: e.label}))}),
    }).then((r) => {
      if (!r.ok) throw new Error(`saving labels failed: ${r.status}`);
      return r.json();
    }).then((body) => {
      batch.forEach((e) => { e.item.saved = true; });
      showStats(body.stats);
    }).catch((error) => {
      unsent = batch.concat(unsent);  // keep them; the next flush tries again
      caption.textContent = String(error);
    });
  }

  function showStats(stats) {
    if (!stats) return;
    document.getElementById("stat-hour").textContent = stats.labels_last_hour;
    document.getElementById("stat-agree").textContent = stats.agreement == null ? "—" : `${Math.round(stats.agreement * 100)}%`;
  }

  function showCounts() {
    document.getElementById("stat-pending").textContent = unsent.length;
    document.getElementById("stat-session").textContent = sessionCount;
  }

  document.addEventListener("keydown", (event) => {
    if (event.target.closest("select, input, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const started = event.timeStamp;  // same clock as performance.now()
    const key = event.key.toLowerCase();
    const actions = {
      g: () => label("good", started), d: () => label("defective", started), u: () => label("unsure", started),
      s: () => move(1, started), z: () => undo(started),
      arrowright: () => move(1, started), arrowleft: () => move(-1, started),
      h: () => { heat = !heat; show(); }, "?": () => { help.hidden = !help.hidden; },
      escape: () => { help.hidden = true; },
    };
    if (actions[key]) { event.preventDefault(); actions[key](); }
  });
  document.getElementById("save-now").addEventListener("click", () => flush(true));
  window.addEventListener("pagehide", () => flush(true));

  window.layerwatchQueue = {
    latencies, phases, flush: () => flush(true),
    current: () => items[pos] && items[pos].id, pending: () => unsent.length,
  };
  fetchMore().then(() => show());
})();
