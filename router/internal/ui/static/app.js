// Lookout triage UI: the live stream and the findings page's "select all".
// Loaded from the UI's own origin (Content-Security-Policy: script-src 'self');
// everything it shows goes through textContent, never innerHTML.
"use strict";

(function () {
  function live() {
    var body = document.getElementById("live-body");
    if (!body) return;
    var status = document.getElementById("live-status");
    var pause = document.getElementById("live-pause");
    var prio = document.getElementById("live-priority");
    var q = document.getElementById("live-q");
    var maxRows = 200;
    var paused = false, es = null, pending = 0, last = Date.now(), rate = 0;

    function cell(tr, text, cls) {
      var td = document.createElement("td");
      if (cls) td.className = cls;
      td.textContent = text;
      tr.appendChild(td);
      return td;
    }
    function row(a) {
      var tr = document.createElement("tr");
      var t = document.createElement("td");
      var link = document.createElement("a");
      link.href = "/ui/alerts/" + encodeURIComponent(a.uuid);
      link.textContent = a.time;
      t.appendChild(link);
      tr.appendChild(t);
      var p = cell(tr, "");
      var badge = document.createElement("span");
      badge.className = "badge p-" + String(a.priority).toLowerCase();
      badge.textContent = a.priority;
      p.appendChild(badge);
      cell(tr, a.rule);
      cell(tr, a.hostname);
      cell(tr, a.finding + (a.held ? " · held by " + a.held + "/" + a.outputs : ""));
      cell(tr, a.output, "output");
      return tr;
    }
    function connect() {
      if (es) es.close();
      var url = "/ui/live/stream?priority=" + encodeURIComponent(prio.value) + "&q=" + encodeURIComponent(q.value);
      es = new EventSource(url);
      es.onopen = function () { status.textContent = paused ? "paused" : "live"; };
      es.onerror = function () { status.textContent = "reconnecting…"; };
      es.addEventListener("alerts", function (ev) {
        var e = JSON.parse(ev.data);
        var now = Date.now();
        pending += e.matched;
        if (now - last >= 1000) { rate = Math.round(pending * 1000 / (now - last)); pending = 0; last = now; }
        if (paused) { status.textContent = "paused · " + rate + "/s"; return; }
        var frag = document.createDocumentFragment();
        for (var i = e.alerts.length - 1; i >= 0; i--) frag.appendChild(row(e.alerts[i]));
        body.insertBefore(frag, body.firstChild);
        while (body.rows.length > maxRows) body.deleteRow(body.rows.length - 1);
        var shown = e.alerts.length < e.matched ? " (showing " + e.alerts.length + " of " + e.matched + ")" : "";
        status.textContent = "live · " + rate + "/s" + shown + (e.missed ? " · " + e.missed + " missed" : "");
      });
    }
    pause.addEventListener("click", function () {
      paused = !paused;
      pause.setAttribute("aria-pressed", String(paused));
      pause.textContent = paused ? "Resume" : "Pause";
      status.textContent = paused ? "paused" : "live";
    });
    prio.addEventListener("change", connect);
    var timer = null;
    q.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(connect, 300); });
    document.getElementById("live-controls").addEventListener("submit", function (ev) { ev.preventDefault(); connect(); });
    connect();
  }

  function selectAll() {
    var all = document.getElementById("select-all");
    if (!all) return;
    all.addEventListener("change", function () {
      var boxes = document.querySelectorAll('input[type="checkbox"][name="id"]');
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
    });
  }

  document.addEventListener("DOMContentLoaded", function () { live(); selectAll(); });
})();
