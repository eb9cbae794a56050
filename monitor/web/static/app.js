/* The analysts' dashboard: leaderboard, creator and brand views, live alert feed.
 * Plain DOM (textContent only, never innerHTML with data), charts by the vendored uPlot,
 * everything from this origin (the server's CSP allows nothing else). */
"use strict";

(() => {
  const TOKEN_KEY = "monitor.apiToken";
  const REFRESH_MS = 10000;
  const MAX_ALERTS = 200;
  const TIERS = ["nano", "micro", "macro", "mega"];
  const SORTS = [
    ["growth_24h_pct", "Growth, 24 h (%)"],
    ["growth_7d_pct", "Growth, 7 days (%)"],
    ["engagement_rate_24h", "Engagement rate, 24 h"],
    ["engagement_rate_7d", "Engagement rate, 7 days"],
    ["interactions_24h", "Interactions, 24 h"],
    ["interactions_1h", "Interactions, last hour"],
    ["sentiment_24h", "Sentiment, 24 h"],
    ["followers", "Followers"],
  ];
  const ALERT_LABELS = {
    mention_spike: "Mention spike",
    audience_growth: "Audience growth",
    sentiment_shift: "Sentiment shift",
    engagement_spike: "Engagement spike",
  };
  const COLORS = { blue: "#2563eb", green: "#16a34a", red: "#dc2626", band: "rgba(37,99,235,0.12)", grey: "#94a3b8" };

  // ---- small helpers ------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k.startsWith("data-")) el.setAttribute(k, v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }
  const $ = (id) => document.getElementById(id);

  function trim(x) { return x.replace(/\.0$/, ""); }
  function compact(n) {
    if (n === null || n === undefined) return "–";
    const a = Math.abs(n);
    if (a < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(1);
    if (a < 1e6) return trim((n / 1e3).toFixed(1)) + "k";
    if (a < 1e9) return trim((n / 1e6).toFixed(1)) + "M";
    return trim((n / 1e9).toFixed(1)) + "B";
  }
  function signed(n, fmt) {
    if (n === null || n === undefined) return "–";
    return (n > 0 ? "+" : n < 0 ? "−" : "") + fmt(Math.abs(n));
  }
  const pct = (n) => signed(n, (a) => a.toFixed(1) + "%");
  const signedCompact = (n) => signed(n, compact);
  function rate(r) {
    if (r === null || r === undefined) return "–";
    const p = r * 100;
    return (p < 10 ? p.toFixed(2) : p.toFixed(1)) + "%";
  }
  function sentimentText(s) {
    if (s === null || s === undefined) return "–";
    return signed(s, (a) => a.toFixed(2));
  }
  function sentimentClass(s) {
    if (s === null || s === undefined) return "chip";
    return s >= 0.05 ? "chip chip-pos" : s <= -0.05 ? "chip chip-neg" : "chip chip-neu";
  }
  function growthClass(n) { return n > 0 ? "up" : n < 0 ? "down" : ""; }
  const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
  const shortFmt = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  function when(ms) { return ms ? dateFmt.format(new Date(ms)) : "–"; }
  function whenShort(ms) {
    const d = new Date(ms);
    const today = new Date();
    return d.toDateString() === today.toDateString() ? timeFmt.format(d) : shortFmt.format(d);
  }
  function tierBadge(tier) {
    return tier ? h("span", { class: `badge tier-${tier}`, text: tier }) : h("span", { class: "badge", text: "no tier" });
  }
  function empty(title, ...body) {
    return h("div", { class: "empty-state" }, h("h3", { text: title }), h("p", {}, ...body));
  }
  function code(text) { return h("code", { text }); }

  // ---- API ----------------------------------------------------------------------------------
  const token = () => sessionStorage.getItem(TOKEN_KEY) || "";
  class Unauthorized extends Error {}
  async function api(path) {
    const headers = { Accept: "application/json" };
    if (token()) headers.Authorization = `Bearer ${token()}`;
    const resp = await fetch(path, { headers, cache: "no-store" });
    if (resp.status === 401) { askToken(Boolean(token())); throw new Unauthorized("token needed"); }
    if (resp.status === 404) return { notFound: true, headers: resp.headers };
    if (!resp.ok) {
      let msg = `${resp.status}`;
      try { msg = (await resp.json()).message || msg; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return { data: await resp.json(), headers: resp.headers };
  }

  function askToken(refused) {
    const dialog = $("token-dialog");
    $("token-error").hidden = !refused;
    if (!dialog.open) dialog.showModal();
  }
  function setupToken() {
    $("token-button").addEventListener("click", () => askToken(false));
    $("token-cancel").addEventListener("click", () => $("token-dialog").close());
    $("token-form").addEventListener("submit", () => {
      sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
      $("token-input").value = "";
      startFeed();
      route();
    });
  }

  // ---- charts -------------------------------------------------------------------------------
  const charts = [];
  function chart(container, title, opts, data) {
    const box = h("div", { class: "chart" }, h("h4", { text: title }));
    container.append(box);
    const width = Math.max(280, box.clientWidth - 8);
    const { yAxis, ...rest } = opts;
    const plot = new uPlot({
      width, height: 200,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      axes: [{ stroke: "#64748b", grid: { stroke: "#eef2f7" } }, { stroke: "#64748b", grid: { stroke: "#eef2f7" }, size: 56, ...(yAxis || {}) }],
      ...rest,
    }, data, box);
    charts.push([plot, box]);
    return plot;
  }
  function clearCharts() { while (charts.length) charts.pop()[0].destroy(); }
  window.addEventListener("resize", () => {
    for (const [plot, box] of charts) plot.setSize({ width: Math.max(280, box.clientWidth - 8), height: 200 });
  });
  const bars = () => uPlot.paths.bars({ size: [0.7, 40] });
  // Counts are whole numbers: no 0.25 ticks.
  const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
  const secs = (ms) => ms / 1000;

  // ---- creators -----------------------------------------------------------------------------
  const state = { sort: "growth_24h_pct", tier: "", community: "", communities: [] };

  function controls(onChange) {
    const sortSel = h("select", { id: "sort", "aria-label": "Sort by" }, SORTS.map(([v, l]) => h("option", { value: v, selected: v === state.sort, text: l })));
    const tierSel = h("select", { id: "tier", "aria-label": "Tier" }, h("option", { value: "", text: "All tiers" }), TIERS.map((t) => h("option", { value: t, selected: t === state.tier, text: t })));
    const commSel = h("select", { id: "community", "aria-label": "Community" }, h("option", { value: "", text: "All communities" }),
      state.communities.map((c) => h("option", { value: c, selected: c === state.community, text: c })));
    for (const [sel, key] of [[sortSel, "sort"], [tierSel, "tier"], [commSel, "community"]]) {
      sel.addEventListener("change", () => { state[key] = sel.value; onChange(); });
    }
    return h("div", { class: "controls" },
      h("label", {}, "Sort by ", sortSel), h("label", {}, "Tier ", tierSel), h("label", {}, "Community ", commSel));
  }

  async function creatorsView(view) {
    const [list, comms] = await Promise.all([
      api(`/api/creators?${new URLSearchParams({ sort: state.sort, tier: state.tier, community: state.community, limit: "100" })}`),
      api("/api/communities"),
    ]);
    state.communities = comms.data || [];
    const docs = list.data || [];
    const table = h("div", { class: "table-wrap" });
    view.replaceChildren(h("div", { class: "view-head" }, h("h1", { text: "Creators" }), h("p", { class: "muted", text: "Live metrics per creator, best first. Click a row for the details." })),
      controls(() => { location.hash = "#/creators"; route(); }), table);
    if (docs.length) setAsOf(docs[0].as_of_ms);
    if (!docs.length) {
      const filtered = state.tier || state.community;
      table.append(filtered
        ? empty("No creators match these filters", "Try “All tiers” or another community; a metric is left out until it has a value (growth needs a snapshot 24 h old).")
        : empty("No creators yet", "Start the stream agents with ", code("monitor worker"), " and send events to the ", code("social.posts"), ", ", code("social.comments"), " and ", code("social.audience"), " topics (or replay a file with ", code("monitor replay FILE.jsonl"), "). Rows appear within seconds."));
      return;
    }
    const head = ["#", "Creator", "Tier", "Community", "Followers", "Growth 24 h", "Growth 7 d", "Engagement 24 h", "Interactions 24 h", "Sentiment 24 h"];
    const sortedCol = { growth_24h_pct: 5, growth_7d_pct: 6, engagement_rate_24h: 7, interactions_24h: 8, sentiment_24h: 9, followers: 4 }[state.sort];
    table.append(h("table", { class: "board", id: "leaderboard" },
      h("thead", {}, h("tr", {}, head.map((t, i) => h("th", { class: `${i >= 4 ? "num" : ""} ${i === sortedCol ? "sorted" : ""}`, text: t })))),
      h("tbody", {}, docs.map((d, i) => h("tr", { "data-creator-id": d.creator_id, tabindex: "0", onclick: () => { location.hash = `#/creator/${encodeURIComponent(d.creator_id)}`; }, onkeydown: (e) => { if (e.key === "Enter") location.hash = `#/creator/${encodeURIComponent(d.creator_id)}`; } },
        h("td", { class: "rank", text: String(i + 1) }),
        h("td", { class: "who" }, h("span", { class: "id", text: d.creator_id }), d.platform ? h("span", { class: "platform", text: d.platform }) : null),
        h("td", {}, tierBadge(d.tier)),
        h("td", { text: d.community || "–" }),
        h("td", { class: "num", text: compact(d.followers) }),
        h("td", { class: `num ${growthClass(d.growth_24h)}` }, pct(d.growth_24h_pct), d.growth_24h === null ? null : h("small", { text: ` ${signedCompact(d.growth_24h)}` })),
        h("td", { class: `num ${growthClass(d.growth_7d)}`, text: pct(d.growth_7d_pct) }),
        h("td", { class: "num", text: rate(d.engagement_rate_24h) }),
        h("td", { class: "num", text: compact(d.interactions_24h) }),
        h("td", { class: "num" }, h("span", { class: sentimentClass(d.sentiment_24h), text: sentimentText(d.sentiment_24h) })),
      )))));
  }

  function kpi(label, value, sub, cls) {
    return h("div", { class: "kpi" }, h("div", { class: "kpi-label", text: label }), h("div", { class: `kpi-value ${cls || ""}`, text: value }), sub ? h("div", { class: "kpi-sub", text: sub }) : null);
  }

  async function creatorView(view, id) {
    const res = await api(`/api/creators/${encodeURIComponent(id)}`);
    const back = h("a", { href: "#/creators", class: "back", text: "← All creators" });
    if (res.notFound) {
      view.replaceChildren(back, empty("Unknown creator", "No events have been seen for ", code(id), " yet. Check the id (platform:handle) or wait for its first event."));
      return;
    }
    const d = res.data;
    setAsOf(d.as_of_ms);
    const s24 = d.sentiment_24h_counts || {};
    const mentions = Object.entries(d.mentions_24h || {});
    const grid = h("div", { class: "kpis" },
      kpi("Followers", compact(d.followers), d.tier ? `${d.tier} tier` : "no snapshot yet"),
      kpi("Growth 24 h", pct(d.growth_24h_pct), signedCompact(d.growth_24h), growthClass(d.growth_24h)),
      kpi("Growth 7 days", pct(d.growth_7d_pct), signedCompact(d.growth_7d), growthClass(d.growth_7d)),
      kpi("Engagement 24 h", rate(d.engagement_rate_24h), `${d.posts_24h} post${d.posts_24h === 1 ? "" : "s"} in 24 h`),
      kpi("Interactions", compact(d.interactions_24h), `${compact(d.interactions_1h)} in the last hour`),
      kpi("Sentiment 24 h", sentimentText(d.sentiment_24h), `${s24.positive || 0} positive · ${s24.neutral || 0} neutral · ${s24.negative || 0} negative`),
      kpi("Brand mentions 24 h", String(mentions.reduce((a, [, n]) => a + n, 0)), mentions.map(([b, n]) => `${b} ${n}`).join(" · ") || "none"),
    );
    const chartsBox = h("div", { class: "charts" });
    view.replaceChildren(back,
      h("div", { class: "view-head" }, h("h1", {}, d.creator_id, " ", tierBadge(d.tier)), h("p", { class: "muted", text: `${d.platform || ""}${d.community ? " · " + d.community : ""}` })),
      grid, chartsBox);
    const fs = (d.series && d.series.followers) || [];
    const hourly = (d.series && d.series.hourly) || [];
    if (fs.length) {
      chart(chartsBox, "Followers", { series: [{}, { label: "Followers", stroke: COLORS.blue, width: 2, points: { show: fs.length < 40 }, value: (u, v) => compact(v) }], yAxis: { values: (u, vs) => vs.map(compact) } },
        [fs.map((p) => secs(p.t_ms)), fs.map((p) => p.followers)]);
    } else {
      chartsBox.append(empty("No follower snapshots yet", "Follower counts come from ", code("social.audience"), " events or posts that carry ", code("followers"), "."));
    }
    if (hourly.length) {
      const xs = hourly.map((p) => secs(p.t_ms));
      chart(chartsBox, "Interactions per hour (likes + comments + shares gained)", { yAxis: { incrs: COUNT_INCRS, values: (u, vs) => vs.map(compact) }, series: [{}, { label: "Interactions", stroke: COLORS.blue, fill: "rgba(37,99,235,0.35)", paths: bars(), points: { show: false } }] },
        [xs, hourly.map((p) => p.interactions)]);
      chart(chartsBox, "Comment sentiment per hour (−1 to +1)", {
        scales: { y: { range: [-1, 1] } },
        series: [{}, { label: "Mean sentiment", stroke: COLORS.green, width: 2, spanGaps: false, points: { show: true, size: 6 }, value: (u, v) => sentimentText(v) },
          { label: "Comments", stroke: COLORS.grey, scale: "n", paths: bars(), fill: "rgba(148,163,184,0.25)", points: { show: false } }],
        axes: [{ stroke: "#64748b", grid: { stroke: "#eef2f7" } }, { stroke: "#64748b", grid: { stroke: "#eef2f7" }, size: 56 }, { scale: "n", side: 1, stroke: "#94a3b8", grid: { show: false }, incrs: COUNT_INCRS }],
      }, [xs, hourly.map((p) => p.sentiment), hourly.map((p) => p.comments)]);
    }
  }

  // ---- brands -------------------------------------------------------------------------------
  function versus(b) {
    if (b.baseline === null || b.baseline === undefined) return "no baseline yet";
    return `usual ${b.baseline.toFixed(1)}${b.ratio ? ` · ${b.ratio.toFixed(1)}×` : ""}`;
  }
  function hot(b) { return b.band && b.mentions > b.band.high; }

  async function brandsView(view) {
    const res = await api("/api/brands");
    const list = res.data || [];
    const head = h("div", { class: "view-head" }, h("h1", { text: "Brands" }), h("p", { class: "muted", text: "Mentions in each brand’s current window against its usual level. Click a brand for its timeline." }));
    if (!list.length) {
      view.replaceChildren(head, empty("No brands yet", "Publish brand rules with ", code("monitor rules apply rules.toml"), ". A brand shows up here once a rule exists or its terms are mentioned."));
      return;
    }
    setAsOf(list[0].as_of_ms);
    view.replaceChildren(head, h("div", { class: "brand-grid" }, list.map((b) => h("a", { class: `brand-card ${hot(b) ? "hot" : ""}`, href: `#/brand/${encodeURIComponent(b.brand)}`, "data-brand": b.brand },
      h("div", { class: "brand-name", text: b.name }),
      h("div", { class: "brand-count" }, h("strong", { text: compact(b.mentions) }), ` mentions in ${b.window_min} min`),
      h("div", { class: "muted", text: versus(b) }),
      h("div", { class: "muted small", text: b.last_mention_ms ? `last mention ${when(b.last_mention_ms)}` : "no mentions yet" }),
      b.configured ? null : h("div", { class: "warn small", text: "no rule (mentions from an old rule)" })))));
  }

  async function brandView(view, brand) {
    const res = await api(`/api/brands/${encodeURIComponent(brand)}`);
    const back = h("a", { href: "#/brands", class: "back", text: "← All brands" });
    if (res.notFound) {
      view.replaceChildren(back, empty("Unknown brand", "There is no rule and no mention for ", code(brand), ". Publish a rule with ", code("monitor rules apply rules.toml"), "."));
      return;
    }
    const b = res.data;
    setAsOf(b.as_of_ms);
    const terms = (b.rule && b.rule.terms) || [];
    const chartsBox = h("div", { class: "charts" });
    const top = b.top_creators || [];
    const evidence = b.evidence || [];
    view.replaceChildren(back,
      h("div", { class: "view-head" }, h("h1", { text: b.name }), h("p", { class: "muted", text: terms.length ? `terms: ${terms.join(", ")}` : b.brand })),
      h("div", { class: "kpis" },
        kpi(`Mentions, last ${b.window_min} min`, compact(b.mentions), versus(b), hot(b) ? "down" : ""),
        kpi("Usual range", b.band ? `${b.band.low.toFixed(1)}–${b.band.high.toFixed(1)}` : "–", b.baseline_updated_ms ? `learned ${when(b.baseline_updated_ms)}` : "learned by the spike detector"),
        kpi("Mentions, 24 h", compact(b.mentions_24h), `${b.negative} negative in the current window`),
        kpi("Last mention", b.last_mention_ms ? timeFmt.format(new Date(b.last_mention_ms)) : "–", b.last_mention_ms ? when(b.last_mention_ms) : "none yet")),
      chartsBox,
      h("div", { class: "two-col" },
        h("div", {}, h("h3", { text: "Top mentioning creators, 24 h" }), top.length
          ? h("table", { class: "board compact", id: "brand-creators" }, h("thead", {}, h("tr", {}, h("th", { text: "Creator" }), h("th", { class: "num", text: "Mentions" }))),
            h("tbody", {}, top.map((c) => h("tr", { "data-creator-id": c.creator_id, onclick: () => { location.hash = `#/creator/${encodeURIComponent(c.creator_id)}`; } }, h("td", { text: c.creator_id }), h("td", { class: "num", text: String(c.mentions) })))))
          : empty("No mentions in 24 h", "Creators appear here when their posts or comments match the brand’s terms.")),
        h("div", {}, h("h3", { text: "Latest mentions" }), evidence.length
          ? h("ul", { class: "evidence" }, evidence.map((e) => h("li", {}, h("div", { class: "quote", text: e.text || "" }), h("div", { class: "muted small", text: `${e.creator_id || ""} · ${e.kind === "c" ? "comment" : "post"} · ${when(e.t)}` }))))
          : empty("No mention text kept yet", "The newest matching posts and comments show here."))));
    const tl = b.timeline || [];
    const xs = tl.map((p) => secs(p.t_ms));
    const series = [{}, { label: `Mentions per ${b.window_min} min`, stroke: COLORS.blue, fill: "rgba(37,99,235,0.35)", paths: bars(), points: { show: false } }];
    const data = [xs, tl.map((p) => p.mentions)];
    const opts = { series, yAxis: { incrs: COUNT_INCRS }, scales: { y: { range: (u, lo, hi) => [0, Math.max(hi, 1)] } } };
    if (b.band) {
      series.push({ label: "Usual high", stroke: "rgba(37,99,235,0.4)", dash: [4, 4], points: { show: false } },
        { label: "Usual low", stroke: "rgba(37,99,235,0.4)", dash: [4, 4], points: { show: false } },
        { label: "Baseline", stroke: COLORS.grey, width: 1.5, points: { show: false } });
      data.push(tl.map(() => b.band.high), tl.map(() => b.band.low), tl.map(() => b.baseline));
      opts.bands = [{ series: [2, 3], fill: COLORS.band }];
    }
    chart(chartsBox, `Mention timeline, last 24 h${b.band ? " (shaded: usual range)" : " (no baseline yet)"}`, opts, data);
  }

  // ---- alert feed ---------------------------------------------------------------------------
  let source = null;
  function alertItem(a, fresh) {
    const subject = a.brand
      ? h("a", { href: `#/brand/${encodeURIComponent(a.brand)}`, text: a.brand })
      : a.creator_id ? h("a", { href: `#/creator/${encodeURIComponent(a.creator_id)}`, text: a.creator_id }) : null;
    const t = Date.parse(a.event_time || a.detected_at || "");
    return h("li", { class: `alert sev-${a.severity || "info"} ${a.status === "resolved" ? "resolved" : ""} ${fresh ? "fresh" : ""}`, "data-alert-id": a.alert_id, "data-status": a.status },
      h("div", { class: "alert-top" },
        h("span", { class: "alert-type", text: ALERT_LABELS[a.type] || a.type }),
        h("span", { class: `tag ${a.status === "resolved" ? "tag-ok" : "tag-fire"}`, text: a.status }),
        h("time", { class: "muted small", text: Number.isNaN(t) ? "" : whenShort(t), title: Number.isNaN(t) ? "" : when(t) })),
      h("div", { class: "alert-summary", text: a.summary || "" }),
      subject ? h("div", { class: "small" }, subject, a.creator_id && a.brand ? ` · ${a.creator_id}` : "") : null);
  }
  function showAlert(a, fresh) {
    const list = $("alerts");
    const item = alertItem(a, fresh);
    if (fresh) list.prepend(item); else list.append(item);
    while (list.children.length > MAX_ALERTS) list.lastChild.remove();
    $("alerts-empty").hidden = list.children.length > 0;
  }
  function setLive(text, cls) { const el = $("live"); el.textContent = text; el.className = `pill ${cls}`; }

  async function startFeed() {
    if (source) { source.close(); source = null; }
    const type = $("alert-type").value;
    let res;
    try {
      res = await api(`/api/alerts?${new URLSearchParams({ type, limit: "50" })}`);
    } catch (err) {
      setLive(err instanceof Unauthorized ? "token needed" : "offline", "pill-off");
      return;
    }
    $("alerts").replaceChildren();
    for (const a of res.data || []) showAlert(a, false);
    $("alerts-empty").hidden = (res.data || []).length > 0;
    // Continue the live stream exactly where the list ended: nothing missed, nothing twice.
    const params = new URLSearchParams({ type, last_event_id: res.headers.get("X-Last-Event-ID") || "0-0" });
    if (token()) params.set("access_token", token());
    source = new EventSource(`/api/alerts/stream?${params}`);
    source.onopen = () => setLive("live", "pill-ok");
    source.onmessage = (ev) => { try { showAlert(JSON.parse(ev.data), true); } catch (_) { /* skip */ } };
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) {
        setLive("disconnected", "pill-off");
        setTimeout(startFeed, 5000);  // e.g. refused (401/503): start over after a pause
      } else setLive("reconnecting…", "pill-wait");
    };
  }

  // ---- routing ------------------------------------------------------------------------------
  function setAsOf(ms) { if (ms) $("asof").textContent = `data as of ${when(ms)}`; }
  let timer = null;
  let busy = false;
  async function route() {
    if (busy) return;
    busy = true;
    clearCharts();
    const view = $("view");
    const hash = location.hash || "#/creators";
    const [, kind, arg] = hash.split("/");
    for (const a of document.querySelectorAll(".tabs a")) a.classList.toggle("active", (kind || "").startsWith(a.dataset.tab.slice(0, 5)));
    try {
      if (kind === "creator" && arg) await creatorView(view, decodeURIComponent(arg));
      else if (kind === "brands") await brandsView(view);
      else if (kind === "brand" && arg) await brandView(view, decodeURIComponent(arg));
      else await creatorsView(view);
    } catch (err) {
      if (!(err instanceof Unauthorized)) view.replaceChildren(empty("Could not load data", `${err.message}. The page retries by itself every ${REFRESH_MS / 1000} s.`));
      else view.replaceChildren(empty("API token needed", "This server requires its API token. Click “API token” at the top right."));
    } finally {
      busy = false;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }
  function refresh() {
    // Not while the viewer is choosing in a list or typing the token, nor in a hidden tab.
    const choosing = document.activeElement && document.activeElement.tagName === "SELECT";
    if ($("token-dialog").open || document.hidden || choosing) timer = setTimeout(refresh, REFRESH_MS);
    else route();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("tz").textContent = `· times in ${Intl.DateTimeFormat().resolvedOptions().timeZone}`;
    setupToken();
    $("alert-type").addEventListener("change", startFeed);
    window.addEventListener("hashchange", route);
    startFeed();
    route();
  });
})();
