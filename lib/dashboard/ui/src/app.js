// CosmoCompute's dashboard: a page app over /_cosmo/api/ (docs/dashboard.md). Plain DOM code;
// every value from the server (names, log lines) goes in as text, never as HTML. The token, when
// the server needs one, is kept in sessionStorage and sent only in the Authorization header.
"use strict";

(function () {
  const API = "/_cosmo/api/";
  const TOKEN_KEY = "cosmo.token";
  const main = document.getElementById("main");
  // What tests and curious users can read: the charts' uPlot objects and their data.
  const state = (window.cosmoDashboard = { charts: {}, tenant: null, readOnly: false, logLines: 0 });
  let pageGeneration = 0;  // bumped on navigation; stale loops and fetches stop

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: "application/json" };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(API + path, {
      method: options.method || "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: "omit",
      cache: "no-store",
    });
    const text = await response.text();
    let body = null;
    try { body = JSON.parse(text); } catch (e) { body = null; }
    if (!response.ok) {
      throw new ApiError(response.status, body && body.error, (body && body.message) || text);
    }
    return body;
  }

  // Replaces what `main` shows; null and undefined children are left out.
  function show(...children) {
    main.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  }

  const shortVersion = (v) => (v || "").slice(0, 12);
  const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "–");
  // "abc123 90% / def456 10%": a split's two sides, base first.
  const splitText = (s) =>
    `${shortVersion(s.base)} ${100 - s.canary_percent}% / ${shortVersion(s.canary)} ${s.canary_percent}%`;
  const when = (t) => (t ? t.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–");

  function showError(error) {
    if (error instanceof ApiError && error.status === 401) return showLogin(error.message);
    show(el("p", { class: "error", id: "error" }, String(error.message || error)));
  }

  function showLogin(message) {
    pageGeneration++;
    const input = el("input", { type: "password", id: "token", autocomplete: "off",
                                placeholder: "token from cosmoctl token new" });
    const form = el("form", { class: "login", id: "login" },
      el("h1", {}, "Sign in"),
      el("p", { class: "muted" }, "This server needs a token (the one cosmoctl uses)."),
      message ? el("p", { class: "error" }, message) : null,
      input,
      el("button", { type: "submit", id: "login-submit" }, "Continue"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      start();
    });
    show(form);
    input.focus();
  }

  // The families table: filter, sort and pages are the server's, so 10,000 families cost one
  // page of rows here.
  const listState = { filter: "", sort: "name", order: "asc", offset: 0, limit: 50 };

  async function showFamilies() {
    const generation = ++pageGeneration;
    const query = new URLSearchParams({
      filter: listState.filter, sort: listState.sort, order: listState.order,
      offset: String(listState.offset), limit: String(listState.limit),
    });
    const data = await api("families?" + query);
    if (generation !== pageGeneration) return;
    const columns = [
      ["name", "Family", false], [null, "Active version", false], [null, "Engine", false],
      ["requests", "Req/min", true], ["errors", "Error rate", true], ["cpu", "CPU p50 (ms)", true],
    ];
    const head = el("tr", {}, columns.map(([sort, label, num]) => {
      if (!sort) return el("th", { class: num ? "num" : "" }, label);
      const active = listState.sort === sort;
      return el("th", {
        "data-sort": sort,
        class: [num ? "num" : "", active ? "active" : "", active && listState.order === "asc" ? "asc" : ""].join(" "),
        onclick: () => {
          if (listState.sort === sort) listState.order = listState.order === "asc" ? "desc" : "asc";
          else { listState.sort = sort; listState.order = sort === "name" ? "asc" : "desc"; }
          listState.offset = 0;
          showFamilies().catch(showError);
        },
      }, label);
    }));
    const rows = data.families.map((f) => el("tr", { "data-family": f.name },
      el("td", {}, el("a", { href: "#/f/" + encodeURIComponent(f.name) }, f.name)),
      el("td", { class: "mono version" }, f.split ? splitText(f.split) : shortVersion(f.active_version)),
      el("td", {}, f.engine),
      el("td", { class: "num" }, fmt(f.requests_per_minute)),
      el("td", { class: "num" }, fmt(100 * f.error_rate) + "%"),
      el("td", { class: "num" }, fmt((f.cpu_p50_us ?? f.cpu_us_per_request) / 1000, 2))));
    const filter = el("input", { id: "filter", type: "search", placeholder: "filter by name",
                                 value: listState.filter });
    let debounce = 0;
    filter.addEventListener("input", () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => {
        listState.filter = filter.value.trim();
        listState.offset = 0;
        showFamilies().then(() => document.getElementById("filter").focus()).catch(showError);
      }, 250);
    });
    const last = Math.min(data.offset + data.families.length, data.total);
    const pager = el("span", { class: "muted", id: "pager" },
      data.total === 0 ? "no families" : `${data.offset + 1}–${last} of ${data.total}`);
    const prev = el("button", { id: "prev", disabled: data.offset === 0 ? "" : null,
      onclick: () => { listState.offset = Math.max(0, listState.offset - listState.limit); showFamilies().catch(showError); } }, "‹ Prev");
    const next = el("button", { id: "next", disabled: last >= data.total ? "" : null,
      onclick: () => { listState.offset += listState.limit; showFamilies().catch(showError); } }, "Next ›");
    show(
      el("h1", {}, "Families"),
      el("div", { class: "toolbar" }, filter, prev, next, pager,
         el("span", { class: "muted" }, `usage over the last ${data.window_minutes} min`)),
      el("table", { id: "families" }, el("thead", {}, head), el("tbody", {}, rows)));
    if (!performance.getEntriesByName("families-rendered").length) {
      performance.mark("families-rendered");
    }
  }

  // One chart: a series per version, over evenly spaced buckets with zeros where there was
  // no traffic.
  // `combine` merges two values of one version in one bucket (a sum; the larger of two p50s).
  function drawChart(container, key, title, buckets, range, value, combine = (a, b) => a + b) {
    const now = Math.floor(Date.now() / 1000);
    const width = range.bucket;
    const first = Math.floor((now - range.since) / width) * width;
    const xs = [];
    for (let t = first; t <= now; t += width) xs.push(t);
    const versions = [...new Set(buckets.map((b) => b.version))].sort();
    const series = versions.map(() => xs.map(() => 0));
    for (const b of buckets) {
      const i = Math.floor((b.start - first) / width);
      const s = versions.indexOf(b.version);
      // An hour already rolled up counts in the bucket holding its start.
      if (i >= 0 && i < xs.length) series[s][i] = combine(series[s][i], value(b));
    }
    const colors = ["#2563eb", "#db2777", "#16a34a", "#ea580c", "#7c3aed", "#0891b2"];
    const box = el("div", { class: "chart", id: "chart-" + key }, el("h3", {}, title));
    container.append(box);
    const opts = {
      width: Math.max(320, box.clientWidth - 16), height: 180,
      series: [{}].concat(versions.map((v, i) => ({
        label: shortVersion(v), stroke: colors[i % colors.length], width: 1.5,
      }))),
      axes: [{}, { size: 50 }],
    };
    const data = [xs, ...series];
    const plot = new uPlot(opts, data, box);
    state.charts[key] = { plot, data, versions,
                          totals: versions.map((v, i) => series[i].reduce((a, b) => a + b, 0)) };
    box.dataset.total = String(series.flat().reduce((a, b) => a + b, 0));
  }

  async function showFamily(name) {
    const generation = ++pageGeneration;
    const range = { since: 3600, bucket: 60 };
    const [family, history, crons] = await Promise.all([
      api("families/" + encodeURIComponent(name)),
      api("families/" + encodeURIComponent(name) + "/history?limit=20"),
      api("families/" + encodeURIComponent(name) + "/crons"),
    ]);
    if (generation !== pageGeneration) return;
    const charts = el("div", { class: "charts", id: "charts" });
    const rangeButtons = el("span", {},
      el("button", { id: "range-hour", onclick: () => loadCharts(3600, 60) }, "Last hour"), " ",
      el("button", { id: "range-day", onclick: () => loadCharts(86400, 3600) }, "Last day"));
    const logs = el("pre", { id: "logs" });
    const historyRows = history.entries.map((e) => el("tr", { "data-version": e.version },
      el("td", {}, String(e.sequence)),
      el("td", { class: "mono" }, shortVersion(e.version),
         e.version === family.active_version ? [" ", el("span", { class: "badge" }, family.split ? "base" : "active")] : null,
         family.split && e.version === family.split.canary ? [" ", el("span", { class: "badge" }, "canary")] : null),
      el("td", {}, e.action), el("td", {}, when(e.time)),
      el("td", {}, e.version === family.active_version || state.readOnly ? "" :
        el("button", { class: "rollback", "data-version": e.version,
                       onclick: () => rollback(name, e.version) }, "Roll back to this"))));
    const split = family.split;
    show(
      el("p", {}, el("a", { href: "#/" }, "‹ Families")),
      el("h1", {}, family.name, " ",
         el("span", { class: "mono muted", id: "active-version" }, shortVersion(family.active_version))),
      el("p", { class: "muted" }, `${family.engine} · owner ${family.owner} · ${family.history_length} versions`),
      split ? el("p", { id: "split" }, "Traffic split: ",
        el("span", { class: "mono" }, shortVersion(split.base)), ` ${100 - split.canary_percent}% (base) · `,
        el("span", { class: "mono" }, shortVersion(split.canary)), ` ${split.canary_percent}% (canary)`) : null,
      el("div", { class: "toolbar" }, el("h2", {}, "Usage"), rangeButtons),
      charts,
      el("h2", {}, "Versions"),
      el("table", { id: "history" },
         el("thead", {}, el("tr", {}, ["#", "Version", "Action", "Time", ""].map((h) => el("th", {}, h)))),
         el("tbody", {}, historyRows)),
      crons.crons.length ? [el("h2", {}, "Cron triggers"),
        el("table", { id: "crons" },
          el("thead", {}, el("tr", {}, ["Schedule", "Next run", "Last run", "Outcome", "Duration"].map((h) => el("th", {}, h)))),
          el("tbody", {}, crons.crons.map((c) => el("tr", {},
            el("td", { class: "mono" }, c.cron), el("td", {}, when(c.next[0])),
            el("td", {}, c.last_tick ? when(c.last_tick) : "never run"),
            el("td", {}, c.last_tick ? (c.last_outcome || "running") : ""),
            el("td", { class: "num" }, c.last_tick && c.last_outcome ? `${c.last_duration_ms} ms` : "")))))] : null,
      Object.keys(family.kv || {}).length ? [el("h2", {}, "KV namespaces"), kvBrowser(family.kv)] : null,
      el("h2", {}, "Live logs"),
      logs);

    async function loadCharts(since, bucket) {
      const data = await api(`families/${encodeURIComponent(name)}/usage?since=${since}&bucket=${bucket}`);
      if (generation !== pageGeneration) return;
      for (const chart of Object.values(state.charts)) chart.plot.destroy();
      state.charts = {};
      charts.replaceChildren();
      const r = { since, bucket };
      drawChart(charts, "requests", "Requests", data.buckets, r, (b) => b.invocations);
      drawChart(charts, "errors", "Errors", data.buckets, r, (b) => b.errors);
      if (data.buckets.some((b) => b.cpu_p50_us !== undefined)) {
        drawChart(charts, "cpu", "CPU p50 (ms)", data.buckets, r, (b) => (b.cpu_p50_us || 0) / 1000, Math.max);
      } else {
        drawChart(charts, "cpu", "CPU (ms)", data.buckets, r, (b) => b.cpu_us / 1000);
      }
      charts.dataset.loaded = String(Date.now());
    }
    await loadCharts(range.since, range.bucket);
    followLogs(name, logs, generation);
  }

  // The family's KV namespaces (binding -> namespace), each with a read-only key browser: keys by
  // prefix in pages (the server's cursor), and the value of the key clicked.
  function kvBrowser(bindings) {
    const value = el("pre", { id: "kv-value", class: "kv-value", hidden: "" });
    const sections = Object.entries(bindings).map(([binding, ns]) => {
      const keys = el("ul", { class: "kv-keys", "data-namespace": ns });
      const prefix = el("input", { type: "search", class: "kv-prefix", placeholder: "key prefix" });
      const more = el("button", { class: "kv-more", hidden: "" }, "More");
      let cursor = "";
      async function list(reset) {
        if (reset) { cursor = ""; keys.replaceChildren(); }
        const query = new URLSearchParams({ prefix: prefix.value, limit: "50" });
        if (cursor) query.set("cursor", cursor);
        try {
          const page = await api(`kv/namespaces/${encodeURIComponent(ns)}/keys?${query}`);
          for (const k of page.keys) {
            keys.append(el("li", {}, el("a", { href: "#", class: "kv-key", "data-key": k.name,
              onclick: (event) => { event.preventDefault(); showValue(ns, k.name); } }, k.name)));
          }
          if (!keys.children.length) keys.append(el("li", { class: "muted" }, "no keys"));
          cursor = page.cursor;
          more.hidden = page.list_complete;
        } catch (error) {
          keys.append(el("li", { class: "error" }, error.message));
        }
      }
      more.addEventListener("click", () => list(false));
      prefix.addEventListener("keydown", (event) => { if (event.key === "Enter") list(true); });
      list(true);
      return el("div", { class: "kv" },
        el("div", { class: "toolbar" }, el("span", {}, el("b", {}, binding), " → ", el("span", { class: "mono" }, ns)),
           prefix, el("button", { onclick: () => list(true) }, "List")),
        keys, more);
    });
    async function showValue(ns, key) {
      try {
        const v = await api(`kv/namespaces/${encodeURIComponent(ns)}/value?` + new URLSearchParams({ key }));
        const bytes = Uint8Array.from(atob(v.value_base64), (c) => c.charCodeAt(0));
        let text;
        try { text = new TextDecoder("utf-8", { fatal: true }).decode(bytes); }
        catch (e) { text = `(binary) ${Array.from(bytes.slice(0, 256), (b) => b.toString(16).padStart(2, "0")).join(" ")}`; }
        value.textContent = `${ns} / ${key} (${v.size_bytes} bytes${v.truncated ? ", first 64 KiB shown" : ""})` +
          (v.metadata ? `\nmetadata: ${v.metadata}` : "") + "\n\n" + text;
      } catch (error) {
        value.textContent = error.message;
      }
      value.hidden = false;
    }
    return el("div", { id: "kv" }, sections, value);
  }

  // Follows the family's log with long polls: each waits on the server until a record comes.
  async function followLogs(name, pre, generation) {
    let after = 0;
    state.logLines = 0;
    while (generation === pageGeneration) {
      try {
        const batch = await api(`families/${encodeURIComponent(name)}/logs?after=${after}&wait_ms=8000`);
        if (generation !== pageGeneration) return;
        for (const r of batch.records) {
          const text = r.outcome ? `[${r.outcome}] ${r.text}` : r.text;
          pre.append(el("div", { class: r.level, "data-sequence": String(r.sequence) },
                        `${r.time.slice(11, 23)} ${shortVersion(r.version)} ${text}`));
          state.logLines++;
        }
        after = batch.last_sequence;
        pre.scrollTop = pre.scrollHeight;
      } catch (error) {
        if (generation !== pageGeneration) return;
        pre.append(el("div", { class: "error" }, "log: " + error.message));
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  async function rollback(name, version) {
    if (!window.confirm(`Roll ${name} back to ${shortVersion(version)}?`)) return;
    try {
      await api(`families/${encodeURIComponent(name)}/rollback`, { method: "POST", body: { version } });
      await showFamily(name);
    } catch (error) {
      showError(error);
    }
  }

  function route() {
    const match = /^#\/f\/([a-z0-9-]+)$/.exec(location.hash);
    const shown = match ? showFamily(match[1]) : showFamilies();
    shown.catch(showError);
  }

  async function start() {
    try {
      const who = await api("whoami");
      state.tenant = who.tenant;
      state.readOnly = !!who.read_only;
      document.getElementById("tenant").textContent =
        "tenant " + who.tenant + (who.read_only ? " · read-only (gateway)" : "");
      document.getElementById("logout").hidden = !who.tokens_required;
      route();
    } catch (error) {
      showError(error);
    }
  }

  document.getElementById("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    location.hash = "#/";
    start();
  });
  window.addEventListener("hashchange", route);
  start();
})();
