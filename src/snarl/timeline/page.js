(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var data = JSON.parse(document.getElementById("snarl-data").textContent);
  var KINDS = data.kinds;
  var LABEL_W = 150, LANE_H = 24, BAR_H = 16, AXIS_H = 22, RIGHT = 8;
  var MAX_FLOWS = 200;  // more arrows than this in view: hidden until zoomed in
  var tip = document.getElementById("tip");
  var DARK = { ready: 1, gil: 1, start: 1, sleep: 0 };

  function el(name, attrs, parent) {
    var e = document.createElementNS(SVG, name);
    for (var k in attrs) { if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function span(v, unit) {
    if (unit === "step") { var n = Math.round(v * 1000) / 1000; return n + (n === 1 ? " step" : " steps"); }
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toPrecision(3) + " s";
    if (a >= 1e6) return (v / 1e6).toPrecision(3) + " ms";
    if (a >= 1e3) return (v / 1e3).toPrecision(3) + " \u00b5s";
    return Math.round(v) + " ns";
  }
  function niceStep(raw) {
    var p = Math.pow(10, Math.floor(Math.log10(raw))), m = raw / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  function esc(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }
  function showTip(ev, html) {
    tip.innerHTML = html; tip.hidden = false;
    var x = ev.clientX + 14, y = ev.clientY + 14;
    var r = tip.getBoundingClientRect();
    if (x + r.width > window.innerWidth - 4) x = Math.max(4, ev.clientX - r.width - 14);
    if (y + r.height > window.innerHeight - 4) y = Math.max(4, ev.clientY - r.height - 14);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  }
  function hideTip() { tip.hidden = true; }

  function draw(section, tl) {
    var TOP = 4;
    var unit = tl.unit, lanes = tl.lanes, laneIndex = {}, names = {};
    lanes.forEach(function (ln, i) { laneIndex[ln.id] = i; names[ln.id] = ln.name; });
    var total = Math.max(tl.end, 1e-9);
    var view = { a: 0, b: total };

    var meta = document.createElement("p");
    meta.className = "meta";
    var count = {};
    tl.slices.forEach(function (s) { count[s.k] = (count[s.k] || 0) + 1; });
    var waits = tl.slices.length - (count.running || 0) - (count.ready || 0) - (count.gil || 0);
    meta.textContent = lanes.length + (lanes.length === 1 ? " thread" : " threads") + " \u00b7 " +
      waits + (waits === 1 ? " wait" : " waits") +
      (count.gil ? " \u00b7 " + count.gil + " GIL offers" : "") +
      " \u00b7 " + tl.flows.length + " arrows \u00b7 " + span(tl.end, unit) +
      (unit === "step" ? " (virtual clock: one tick per switch point)" : "") +
      (tl.dropped ? " \u00b7 " + tl.dropped + " events dropped" : "");
    section.appendChild(meta);
    tl.notes.forEach(function (n) {
      var p = document.createElement("p"); p.className = "notes"; p.textContent = n;
      section.appendChild(p);
    });
    var controls = document.createElement("div");
    controls.className = "controls";
    [["+", "in"], ["\u2212", "out"], ["fit", "fit"]].forEach(function (b) {
      var btn = document.createElement("button");
      btn.type = "button"; btn.textContent = b[0]; btn.setAttribute("data-zoom", b[1]);
      controls.appendChild(btn);
    });
    var spanText = document.createElement("span");
    spanText.className = "span";
    controls.appendChild(spanText);
    section.appendChild(controls);

    if (tl.markers.length) TOP = 18;  // a row for the markers' labels
    var height = TOP + AXIS_H + lanes.length * LANE_H + 6;
    var svg = el("svg", { "class": "chart", height: height, role: "img",
                          "aria-label": tl.title }, section);
    var defs = el("defs", {}, svg);
    var clipId = "clip" + section.getAttribute("data-index");
    var clipRect = el("rect", { x: LABEL_W, y: 0, height: height }, el("clipPath", { id: clipId }, defs));
    var markerId = "arrow" + section.getAttribute("data-index");
    var m = el("marker", { id: markerId, viewBox: "0 0 8 8", refX: 7, refY: 4, markerWidth: 7,
                           markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L8,4 L0,8 z", fill: "#24292f" }, m);

    var axis = el("g", { "class": "axis" }, svg);
    var lanesG = el("g", { "class": "lanes" }, svg);
    var plots = [];
    lanes.forEach(function (ln, i) {
      var y = TOP + AXIS_H + i * LANE_H;
      var g = el("g", { "class": "lane", "data-thread": ln.name, "data-lane": ln.id,
                        transform: "translate(0," + y + ")" }, lanesG);
      el("rect", { "class": "lane-bg", x: 0, y: 0, height: LANE_H }, g);
      var name = el("text", { "class": "lane-name", x: 4, y: LANE_H / 2 }, g);
      name.textContent = ln.name.length > 20 ? ln.name.slice(0, 19) + "\u2026" : ln.name;
      var title = el("title", {}, name);
      title.textContent = ln.name + (ln.ident ? " (ident " + ln.ident + ")" : "");
      if (ln.note) {
        var note = el("text", { "class": "lane-note", x: LABEL_W - 4, y: LANE_H / 2,
                                "text-anchor": "end" }, g);
        note.textContent = ln.note;
      }
      var plot = el("g", { "clip-path": "url(#" + clipId + ")" }, g);
      var life = el("line", { "class": "life", y1: LANE_H / 2, y2: LANE_H / 2 }, plot);
      plots.push({ g: g, plot: plot, life: life, lane: ln, end: null });
      if (ln.exited) {
        plots[i].end = el("rect", { "class": "life-end", y: LANE_H / 2 - 4, width: 2, height: 8 }, plot);
      }
    });
    var rects = [];
    tl.slices.forEach(function (s, i) {
      var p = plots[laneIndex[s.l]];
      if (!p) return;
      var kind = KINDS[s.k] || { color: "#757575", text: s.k };
      var r = el("rect", { "class": "slice", "data-kind": s.k, "data-flag": s.f, "data-i": i,
                           y: (LANE_H - BAR_H) / 2, height: BAR_H, fill: kind.color }, p.plot);
      var label = null;
      if (s.t && s.k !== "gil") {
        label = el("text", { "class": "slice-label" + (DARK[s.k] ? " dark" : ""), y: LANE_H / 2 }, p.plot);
        label.textContent = s.t;
      }
      rects.push({ r: r, s: s, label: label, chars: s.t ? s.t.length : 0 });
    });
    var flowsG = el("g", { "class": "flows", "clip-path": "url(#" + clipId + ")" }, svg);
    var flows = [];
    tl.flows.forEach(function (f, i) {
      if (laneIndex[f.a] === undefined || laneIndex[f.b] === undefined) return;
      var path = el("path", { "class": "flow", "data-i": i, "marker-end": "url(#" + markerId + ")" }, flowsG);
      flows.push({ p: path, f: f });
    });
    var markersG = el("g", { "class": "markers" }, svg);
    var markers = tl.markers.map(function (mk) {
      var g = el("g", { "class": "marker " + mk.k }, markersG);
      var line = el("line", { y1: TOP + AXIS_H - 4, y2: height - 4 }, g);
      var text = el("text", { y: 13 }, g);
      text.textContent = mk.label;
      var t = el("title", {}, g); t.textContent = mk.label;
      return { g: g, line: line, text: text, m: mk };
    });

    var width = 800;
    function x(t) { return LABEL_W + (t - view.a) / (view.b - view.a) * (width - LABEL_W - RIGHT); }
    function laneY(id) { return TOP + AXIS_H + laneIndex[id] * LANE_H + LANE_H / 2; }

    function render() {
      width = Math.max(LABEL_W + 120, svg.getBoundingClientRect().width || section.clientWidth || 800);
      svg.setAttribute("width", width);
      clipRect.setAttribute("width", width - LABEL_W - RIGHT + 1);
      plots.forEach(function (p) {
        p.g.firstChild.setAttribute("width", width);
        var a = x(p.lane.start), b = x(p.lane.end);
        p.life.setAttribute("x1", a); p.life.setAttribute("x2", b);
        if (p.end) p.end.setAttribute("x", b - 1);
      });
      rects.forEach(function (o) {
        var a = x(o.s.s), b = x(o.s.e), w = Math.max(1, b - a);
        o.r.setAttribute("x", a); o.r.setAttribute("width", w);
        if (w < 3) o.r.classList.add("thin"); else o.r.classList.remove("thin");
        if (o.label) {
          var left = Math.max(a, LABEL_W), room = Math.min(b, width - RIGHT) - left;
          if (room > o.chars * 6.3 + 8) {
            o.label.setAttribute("x", left + 4); o.label.removeAttribute("display");
          } else {
            o.label.setAttribute("display", "none");
          }
        }
      });
      var inView = flows.filter(function (o) { return o.f.bt >= view.a && o.f.at <= view.b; });
      var crowded = inView.length > MAX_FLOWS;
      flowsG.setAttribute("display", crowded ? "none" : "inline");
      (crowded ? [] : inView).forEach(function (o) {
        var x1 = x(o.f.at), y1 = laneY(o.f.a), x2 = x(o.f.bt), y2 = laneY(o.f.b);
        var dy = y2 > y1 ? -BAR_H / 2 + 2 : BAR_H / 2 - 2;
        y2 += dy;
        var mx = (x1 + x2) / 2;
        o.p.setAttribute("d", "M" + x1 + "," + y1 + " C" + mx + "," + y1 + " " + mx + "," + y2 +
                              " " + x2 + "," + y2);
      });
      markers.forEach(function (o) {
        var mx = x(o.m.t);
        var hidden = mx < LABEL_W || mx > width - RIGHT;
        o.g.setAttribute("display", hidden ? "none" : "inline");
        o.line.setAttribute("x1", mx); o.line.setAttribute("x2", mx);
        var right = mx > width - 260;
        o.text.setAttribute("x", right ? mx - 4 : mx + 4);
        o.text.setAttribute("text-anchor", right ? "end" : "start");
      });
      while (axis.firstChild) axis.removeChild(axis.firstChild);
      var step = niceStep((view.b - view.a) / Math.max(2, Math.floor((width - LABEL_W) / 90)));
      if (unit === "step") step = Math.max(1, step);
      for (var t = Math.ceil(view.a / step) * step; t <= view.b + 1e-9; t += step) {
        var tx = x(t);
        el("line", { x1: tx, x2: tx, y1: TOP + AXIS_H - 6, y2: height - 4 }, axis);
        if (tx > width - RIGHT - 40) continue;  // no room for its label
        var label = el("text", { x: tx + 2, y: TOP + AXIS_H - 9 }, axis);
        label.textContent = span(t, unit);
      }
      spanText.textContent = "showing " + span(view.a, unit) + " \u2013 " + span(view.b, unit) +
        (crowded ? " \u00b7 " + inView.length + " arrows here: zoom in to see them" : "");
      section.setAttribute("data-arrows-shown", crowded ? "0" : String(inView.length));
    }

    function zoom(factor, at) {
      var len = view.b - view.a, nl = Math.min(total * 1.05, Math.max(len * factor, total * 1e-6));
      var pivot = at === undefined ? view.a + len / 2 : at;
      var frac = (pivot - view.a) / len;
      view.a = pivot - frac * nl; view.b = view.a + nl;
      clampView(); schedule();
    }
    function clampView() {
      var len = view.b - view.a, lo = -total * 0.02, hi = total * 1.03;
      if (view.a < lo) { view.a = lo; view.b = lo + len; }
      if (view.b > hi) { view.b = hi; view.a = Math.max(lo, hi - len); }
    }
    var pending = false;
    function schedule() {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; render(); });
    }
    function timeAt(clientX) {
      var r = svg.getBoundingClientRect();
      return view.a + (clientX - r.left - LABEL_W) / (width - LABEL_W - RIGHT) * (view.b - view.a);
    }
    controls.addEventListener("click", function (ev) {
      var what = ev.target.getAttribute && ev.target.getAttribute("data-zoom");
      if (what === "in") zoom(0.5);
      else if (what === "out") zoom(2);
      else if (what === "fit") { view.a = 0; view.b = total; schedule(); }
    });
    svg.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      zoom(ev.deltaY < 0 ? 1 / 1.25 : 1.25, timeAt(ev.clientX));
    }, { passive: false });
    var drag = null;
    svg.addEventListener("mousedown", function (ev) {
      drag = { x: ev.clientX, a: view.a, b: view.b }; svg.classList.add("dragging");
    });
    window.addEventListener("mousemove", function (ev) {
      if (!drag) return;
      var dt = (ev.clientX - drag.x) / (width - LABEL_W - RIGHT) * (drag.b - drag.a);
      view.a = drag.a - dt; view.b = drag.b - dt; clampView(); schedule();
    });
    window.addEventListener("mouseup", function () { drag = null; svg.classList.remove("dragging"); });
    svg.addEventListener("mousemove", function (ev) {
      var target = ev.target;
      if (drag) { hideTip(); return; }
      if (target.classList.contains("slice")) {
        var s = tl.slices[+target.getAttribute("data-i")];
        var kind = KINDS[s.k] || { text: s.k };
        var lines = ["<b>" + esc(s.t || kind.text) + "</b>", esc(names[s.l]) + ": " + esc(kind.text),
                     "from " + span(s.s, unit) + " to " + span(s.e, unit) + " (" + span(s.e - s.s, unit) + ")"];
        var d = tl.details[s.d] || {};
        for (var k in d) {
          var v = d[k];
          if (v === null || v === undefined) continue;
          lines.push(esc(k) + ": " + esc(v));
        }
        if (s.f) lines.push("<b>" + esc(s.f) + "</b>");
        showTip(ev, lines.join("\n"));
      } else if (target.classList.contains("flow")) {
        var f = tl.flows[+target.getAttribute("data-i")];
        showTip(ev, "<b>" + esc(f.t) + "</b>\n" + esc(names[f.a]) + " at " + span(f.at, unit) +
                    " \u2192 " + esc(names[f.b]) + " at " + span(f.bt, unit));
      } else {
        hideTip();
      }
    });
    svg.addEventListener("mouseleave", hideTip);

    var legend = document.createElement("div");
    legend.className = "legend";
    var present = {};
    tl.slices.forEach(function (s) { present[s.k] = 1; });
    Object.keys(KINDS).forEach(function (k) {
      if (!present[k]) return;
      var item = document.createElement("span");
      var sw = document.createElement("span");
      sw.className = "sw"; sw.style.background = KINDS[k].color;
      item.appendChild(sw); item.appendChild(document.createTextNode(KINDS[k].text));
      legend.appendChild(item);
    });
    if (tl.flows.length) {
      var item = document.createElement("span");
      item.textContent = "\u2192 released to / GIL taken by";
      legend.appendChild(item);
    }
    section.appendChild(legend);
    render();
    window.addEventListener("resize", schedule);
    section.setAttribute("data-lanes", String(plots.length));
    section.setAttribute("data-slices", String(rects.length));
    section.setAttribute("data-flows", String(flows.length));
  }

  var sections = document.querySelectorAll("section.timeline");
  for (var i = 0; i < sections.length; i++) {
    draw(sections[i], data.timelines[+sections[i].getAttribute("data-index")]);
  }
  document.body.setAttribute("data-ready", "1");
})();
