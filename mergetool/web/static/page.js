// The operator page: polls api/page and renders the mergetool-page/1 document.
// No framework and no build step; values the server does not know are shown as unknown.
(function () {
  "use strict";

  var body = document.body;
  var query = new URLSearchParams(location.search);
  var token = query.get("token");
  var pollMs = Math.max(100, Number(query.get("poll_ms")) || Number(body.dataset.pollMs) || 3000);
  var last = null; // the last document received
  var lastAt = 0; // when it came (browser clock, ms)
  var skew = 0; // the server's clock minus the browser's (ms)
  var lostSince = null;
  var shownRows = null; // the identities last drawn: unchanged rows are left alone
  var SYMBOL = { ok: "\u2714", info: "\u2022", warn: "\u25b2", bad: "\u2716" };
  var PHASES = {
    "waiting-for-disk": "waiting for the disk", k2pow: "k2pow", reading: "reading the data",
    verifying: "verifying the proof", saving: "saving the proof", done: "proof ready", failed: "failed", idle: "idle"
  };
  var LABELS = ["Name", "Node id", "Verdict", "PoST", "Rate \u00b7 ETA", "ATX", "Eligibility",
    "Rewards", "Last error"];

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function unknown(what) {
    var node = el("span", "unknown", "\u2014");
    node.title = (what || "value") + " unknown";
    return node;
  }

  function now() { return Date.now() + skew; }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function utc(ms) {
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
  }

  function utcTime(ms) { return utc(ms).slice(11); }

  var localFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    second: "2-digit", timeZoneName: "short"
  });

  function local(ms) { return localFormat.format(new Date(ms)); }

  function duration(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + "d " + pad(h) + "h " + pad(m) + "m";
    if (h) return h + "h " + pad(m) + "m " + pad(sec) + "s";
    return m + "m " + pad(sec) + "s";
  }

  function size(n, unit) {
    if (unit !== "bytes") return (Number.isInteger(n) || n >= 10 ? Math.round(n) : n.toPrecision(2)) + " " + (unit || "");
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return (i ? n.toFixed(1) : String(n)) + " " + units[i];
  }

  function isNum(x) { return typeof x === "number" && isFinite(x); }

  // --- polling ---------------------------------------------------------------------------

  function poll() {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, Math.max(2000, 2 * pollMs));
    var headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    fetch("api/page", { headers: headers, cache: "no-store", signal: ctrl.signal })
      .then(function (r) {
        if (r.status === 401) throw new Error("the token was refused (401): open the page with ?token=SECRET");
        if (!r.ok) throw new Error("the server answered HTTP " + r.status);
        return r.json();
      })
      .then(function (doc) {
        if (!doc || doc.format !== "mergetool-page/1") throw new Error("not a mergetool-page/1 document");
        received(doc);
      })
      .catch(function (err) { lost(err.name === "AbortError" ? "no answer in time" : err.message); })
      .finally(function () { clearTimeout(timer); setTimeout(poll, pollMs); });
  }

  function received(doc) {
    last = doc;
    lastAt = Date.now();
    var server = Date.parse(doc.generated_at);
    skew = isFinite(server) ? server - lastAt : 0;
    lostSince = null;
    body.classList.remove("stale");
    body.dataset.state = "live";
    $("banner").hidden = true;
    try { render(doc); tick(); } catch (err) { lost("cannot show the data: " + err.message); }
  }

  function lost(why) {
    if (lostSince === null) lostSince = Date.now();
    body.classList.add("stale");
    body.dataset.state = "lost";
    var text = "Connection lost since " + utcTime(lostSince) + " (" + why + ").";
    text += last ? " The values below were received at " + utcTime(lastAt) +
      " and may be out of date." : " No data received yet.";
    $("banner").textContent = text + " Retrying every " + pollMs / 1000 + " s.";
    $("banner").hidden = false;
    showUpdated();
  }

  function showUpdated() {
    var text = last ? "updated " + utcTime(lastAt) : "no data yet";
    if (lostSince !== null) text += " \u2014 STALE, not current";
    else text += " (every " + pollMs / 1000 + " s)";
    $("updated").textContent = text;
  }

  // --- rendering -------------------------------------------------------------------------

  function render(doc) {
    $("source").textContent = "from " + doc.source;
    showUpdated();
    renderNode(doc.node);
    renderClock();
    var identities = JSON.stringify(doc.identities || []);
    if (identities !== shownRows) renderIdentities(doc.identities || []); // keeps a selection
    shownRows = identities;
    renderTimeline(doc);
    renderEvents(doc.events || []);
  }

  function setValue(id, value, cls) {
    var node = $(id);
    node.className = cls || "";
    node.textContent = "";
    node.appendChild(value === null || value === undefined ? unknown(id) : document.createTextNode(value));
  }

  function renderNode(node) {
    var levels = { synced: "level-ok", syncing: "level-warn", offline: "level-bad" };
    if (!node) {
      setValue("node-sync", last.source === "serve" ? "not read by serve" : "unknown", "unknown");
      ["node-epoch", "node-layer", "node-peers"].forEach(function (id) { setValue(id, null); });
      return;
    }
    setValue("node-sync", node.sync, levels[node.sync] || "unknown");
    setValue("node-epoch", node.current_epoch);
    setValue("node-layer", node.current_layer);
    setValue("node-peers", node.connected_peers);
  }

  function renderClock() {
    var clock = last && last.clock, gap = $("gap");
    if (!clock) {
      gap.dataset.phase = "unknown";
      $("gap-countdown").textContent = "unknown";
      $("gap-times").textContent = last && last.source === "serve" ?
        "serve does not read the node's clock: mergetool watch shows the cycle gap." :
        "The node's epoch clock is not known yet.";
      return;
    }
    var t = now(), start = Date.parse(clock.cycle_gap_start), end = Date.parse(clock.cycle_gap_end);
    var text;
    if (t < start) {
      gap.dataset.phase = "before";
      text = "next cycle gap starts in " + duration(start - t);
    } else if (t < end) {
      gap.dataset.phase = "in";
      text = "in the cycle gap: " + duration(end - t) + " left";
    } else {
      gap.dataset.phase = "after";
      text = "the cycle gap ended " + duration(t - end) + " ago";
    }
    $("gap-countdown").textContent = text.charAt(0).toUpperCase() + text.slice(1);
    $("gap-times").textContent = "Epoch " + clock.epoch + ": the gap runs from " + utc(start) +
      " to " + utc(end) + " \u2014 in your time zone (" + localZone() + ") " + local(start) +
      " to " + local(end) + ".";
  }

  function localZone() {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  }

  function cell(row, index, content) {
    var td = el("td");
    td.dataset.label = LABELS[index];
    var box = el("div", "cell");
    (Array.isArray(content) ? content : [content]).forEach(function (part) {
      if (part === null || part === undefined) return;
      box.appendChild(typeof part === "string" ? document.createTextNode(part) : part);
    });
    td.appendChild(box);
    row.appendChild(td);
  }

  function renderIdentities(identities) {
    var tbody = $("identities").tBodies[0];
    tbody.textContent = "";
    $("no-identities").hidden = identities.length > 0;
    identities.forEach(function (ident) {
      var row = el("tr");
      row.dataset.nodeId = ident.node_id;
      cell(row, 0, ident.name ? el("span", "name", ident.name) : unknown("name"));
      var id = el("code", "node-id", ident.node_id.slice(0, 12));
      id.title = ident.node_id;
      cell(row, 1, id);
      var v = ident.verdict || { code: "unknown", text: "unknown", level: "info" };
      var badge = el("span", "verdict level-" + v.level, (SYMBOL[v.level] || "") + " " + v.text);
      badge.dataset.code = v.code;
      cell(row, 2, badge);
      cell(row, 3, postCell(ident.post));
      cell(row, 4, rateCell(ident.post));
      cell(row, 5, ident.atx ? "epoch " + ident.atx.publish_epoch + " (for epoch " +
        ident.atx.target_epoch + ")" : unknown("ATX"));
      var e = ident.eligibility;
      cell(row, 6, e ? "epoch " + e.epoch + ": " + e.slots + " slot" + (e.slots === 1 ? "" : "s") +
        ", " + e.proposals + " proposed" : unknown("eligibility"));
      var r = ident.rewards;
      cell(row, 7, r ? r.smh_epoch + " SMH this epoch" +
        (isNum(r.last_layer) ? " (last in layer " + r.last_layer + ")" : "") : unknown("rewards"));
      cell(row, 8, ident.last_error ? el("span", "error-text", ident.last_error) : el("span", "unknown", "none"));
      tbody.appendChild(row);
    });
  }

  function postCell(post) {
    if (!post) return unknown("PoST phase");
    var parts = [el("span", "phase", PHASES[post.phase] || post.phase)];
    if (isNum(post.pass)) parts.push(el("span", "detail", " \u00b7 pass " + post.pass));
    if (isNum(post.total) && post.total > 0) {
      var bar = el("progress");
      bar.max = post.total;
      bar.value = isNum(post.done) ? post.done : 0;
      parts.push(bar);
      var pct = Math.floor(100 * (post.done || 0) / post.total);
      parts.push(el("span", "detail progress-text", size(post.done || 0, post.unit) + " / " +
        size(post.total, post.unit) + " (" + pct + "%)"));
    }
    if (post.disk) parts.push(el("div", "detail", "disk " + post.disk));
    return parts;
  }

  function rateCell(post) {
    if (!post || (!isNum(post.rate) && !post.eta)) return unknown("rate");
    var parts = [];
    if (isNum(post.rate)) parts.push(el("div", "rate", size(post.rate, post.unit) + "/s"));
    if (post.eta) {
      var eta = Date.parse(post.eta);
      var line = el("div", "eta", "ETA " + utcTime(eta) + " ");
      var rel = el("span", "eta-in");
      rel.dataset.at = String(eta);
      line.appendChild(rel);
      parts.push(line);
      if (post.eta_after_gap) parts.push(el("div", "flag", "\u25b2 after the cycle gap ends"));
    }
    return parts;
  }

  // --- timeline --------------------------------------------------------------------------

  function renderTimeline(doc) {
    var box = $("timeline"), clock = doc.clock, t = now();
    box.textContent = "";
    var windows = (doc.identities || []).filter(function (i) { return i.post && i.post.asked_at; });
    var lo, hi;
    if (clock) {
      lo = Date.parse(clock.epoch_start);
      hi = Date.parse(clock.epoch_end);
    } else if (windows.length) {
      lo = Math.min.apply(null, windows.map(function (i) { return Date.parse(i.post.asked_at); }));
      hi = Math.max.apply(null, windows.map(function (i) {
        return Date.parse(i.post.delivered_at || i.post.eta || doc.generated_at);
      }).concat([t]));
      var pad_ = Math.max(1000, (hi - lo) * 0.05);
      lo -= pad_;
      hi += pad_;
    } else {
      box.appendChild(el("p", "note", "Nothing to show yet: no proof has been asked for, and the epoch clock is unknown."));
      return;
    }
    function pos(ms) { return Math.min(100, Math.max(0, 100 * (ms - lo) / (hi - lo))); }
    var axis = el("div", "tl-axis");
    axis.appendChild(el("span", null, utc(lo)));
    axis.appendChild(el("span", null, utc(hi)));
    box.appendChild(axis);
    var epoch = row(clock ? "epoch " + clock.epoch : "proofs (epoch unknown)", "tl-epoch");
    if (clock) {
      var band = el("div", "tl-band");
      band.style.left = pos(Date.parse(clock.cycle_gap_start)) + "%";
      band.style.width = (pos(Date.parse(clock.cycle_gap_end)) - pos(Date.parse(clock.cycle_gap_start))) + "%";
      band.title = "cycle gap " + utc(Date.parse(clock.cycle_gap_start)) + " \u2013 " + utc(Date.parse(clock.cycle_gap_end));
      band.appendChild(el("span", null, "cycle gap"));
      if (pos(Date.parse(clock.cycle_gap_start)) > 60) band.classList.add("flip");
      epoch.appendChild(band);
      mark(epoch, pos, clock.poet_round_end, "PoET round ends", "poet");
      mark(epoch, pos, clock.publish_deadline, "publish deadline", "publish");
    }
    mark(epoch, pos, new Date(t).toISOString(), "now", "now");
    var lanes = {};
    windows.forEach(function (i) {
      var lane = i.post.disk ? "disk " + i.post.disk : "proofs (disk unknown)";
      (lanes[lane] = lanes[lane] || []).push(i);
    });
    Object.keys(lanes).sort().forEach(function (lane) {
      var track = row(lane, "tl-lane");
      track.style.height = (0.4 + 1.5 * lanes[lane].length) + "rem"; // one line per identity
      lanes[lane].forEach(function (i, index) {
        var start = Date.parse(i.post.asked_at);
        var end = i.post.delivered_at ? Date.parse(i.post.delivered_at) : t;
        var bar = el("div", "tl-bar");
        bar.appendChild(el("span", null, i.name || i.node_id.slice(0, 8)));
        bar.dataset.nodeId = i.node_id;
        if (i.post.delivered_at) bar.classList.add("delivered");
        if (i.post.eta_after_gap) bar.classList.add("late");
        bar.style.top = (0.2 + 1.5 * index) + "rem";
        bar.style.height = "1.3rem";
        bar.style.left = pos(start) + "%";
        bar.style.width = Math.max(0.4, pos(end) - pos(start)) + "%";
        if (pos(end) - pos(start) < 8) bar.classList.add("narrow"); // its name beside it
        if (pos(start) < 15) bar.classList.add("flip");
        bar.title = (i.name || i.node_id) + ": asked " + utc(start) + (i.post.delivered_at ?
          ", delivered " + utc(end) : ", not delivered yet");
        track.appendChild(bar);
      });
    });

    function row(label, cls) {
      var r = el("div", "tl-row " + cls);
      r.appendChild(el("div", "tl-label", label));
      var track = el("div", "tl-track");
      r.appendChild(track);
      box.appendChild(r);
      return track;
    }
  }

  function mark(track, pos, iso, label, cls) {
    if (!iso) return;
    var ms = Date.parse(iso);
    var m = el("div", "tl-mark " + cls);
    m.style.left = pos(ms) + "%";
    if (pos(ms) > 60) m.classList.add("flip");
    m.title = label + " " + utc(ms);
    if (cls !== "now") m.appendChild(el("span", null, label));
    track.appendChild(m);
  }

  // --- events ----------------------------------------------------------------------------

  function renderEvents(events) {
    var list = $("events");
    list.textContent = "";
    $("no-events").hidden = events.length > 0;
    events.slice(0, 50).forEach(function (e) {
      var item = el("li", e.failure ? "failure" : "");
      var when = el("time", null, utc(Date.parse(e.time)).slice(5, 19));
      when.dateTime = e.time;
      item.appendChild(when);
      item.appendChild(el("span", "kind", (e.failure ? "\u2716 failure: " : "") + e.kind));
      if (e.identity) item.appendChild(el("code", "who", e.identity.length > 16 ? e.identity.slice(0, 12) : e.identity));
      if (e.help) item.appendChild(el("span", "help", e.help));
      list.appendChild(item);
    });
  }

  function tick() {
    if (last) renderClock();
    showUpdated();
    Array.prototype.forEach.call(document.querySelectorAll(".eta-in"), function (span) {
      var left = Number(span.dataset.at) - now();
      span.textContent = left >= 0 ? "(in " + duration(left) + ")" : "(" + duration(-left) + " ago)";
    });
  }

  setInterval(tick, 250);
  poll();
})();
