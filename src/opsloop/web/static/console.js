/* OpsLoop console: small vanilla behaviours. Every text shown comes from the page (translated on
   the server), so this file holds no user-facing strings. */
(function () {
  "use strict";

  var REFRESH_MS = 4000;
  var MAX_ROWS = 500;

  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function toggleDetail(row) {
    var detail = row.nextElementSibling;
    if (!detail || !detail.classList.contains("event-detail")) { return; }
    var open = detail.hidden;
    detail.hidden = !open;
    row.setAttribute("aria-expanded", open ? "true" : "false");
    row.parentElement.classList.toggle("open", open);
  }

  function eventRows(table) {
    table.addEventListener("click", function (e) {
      if (e.target.closest("a")) { return; }
      var row = e.target.closest("tr.event-row");
      if (row) { toggleDetail(row); }
    });
    table.addEventListener("keydown", function (e) {
      var row = e.target.closest("tr.event-row");
      if (row && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); toggleDetail(row); }
    });
  }

  function liveFeed(table) {
    var feed = table.getAttribute("data-feed");
    if (!feed) { return; }
    var newest = table.getAttribute("data-newest");
    var status = document.getElementById("live-status");
    var text = status.querySelector(".live-text");
    var toggle = document.getElementById("live-toggle");
    var empty = table.querySelector("tbody.empty-state");
    var paused = window.localStorage && localStorage.getItem("opsloop.live.paused") === "1";
    var timer = null;
    var busy = false;

    function show(kind, message) {
      status.classList.toggle("paused", kind === "paused");
      status.classList.toggle("error", kind === "error");
      text.textContent = message;
    }

    function known(uuid) {
      return table.querySelector('tbody.event[data-uuid="' + uuid + '"]') !== null;
    }

    function insert(html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html;
      var fresh = Array.prototype.filter.call(tpl.content.querySelectorAll("tbody.event"), function (b) {
        return !known(b.getAttribute("data-uuid"));
      });
      var anchor = table.querySelector("tbody.event");
      fresh.forEach(function (body) {
        body.classList.add("fresh");
        table.insertBefore(body, anchor);
        window.setTimeout(function () { body.classList.remove("fresh"); }, 3000);
      });
      var all = table.querySelectorAll("tbody.event");
      for (var i = MAX_ROWS; i < all.length; i++) { all[i].remove(); }
      if (table.querySelector("tbody.event")) { empty.hidden = true; }
      return fresh.length;
    }

    function tick() {
      if (busy || paused) { return; }
      busy = true;
      var url = newest ? feed + encodeURIComponent(newest) : feed + encodeURIComponent(new Date(0).toISOString());
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 401 || r.status === 403) { throw new Error("signed-out"); }
          if (!r.ok) { throw new Error("failed"); }
          return r.json();
        })
        .then(function (data) {
          if (data.more) { window.location.reload(); return; }
          var added = insert(data.html);
          newest = data.newest || newest;
          table.setAttribute("data-newest", newest || "");
          var message = status.getAttribute("data-live");
          if (added > 0) { message += " · " + status.getAttribute("data-new").replace("{count}", added); }
          show("live", message);
        })
        .catch(function (err) {
          if (err.message === "signed-out") {
            stop();
            show("error", status.getAttribute("data-signed-out"));
          } else {
            show("error", status.getAttribute("data-failed"));
          }
        })
        .then(function () { busy = false; });
    }

    function start() { if (!timer) { timer = window.setInterval(tick, REFRESH_MS); } }
    function stop() { if (timer) { window.clearInterval(timer); timer = null; } }

    function apply() {
      toggle.textContent = toggle.getAttribute(paused ? "data-resume" : "data-pause");
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
      if (paused) { stop(); show("paused", status.getAttribute("data-paused")); }
      else { show("live", status.getAttribute("data-live")); start(); }
    }

    toggle.addEventListener("click", function () {
      paused = !paused;
      if (window.localStorage) { localStorage.setItem("opsloop.live.paused", paused ? "1" : "0"); }
      apply();
      if (!paused) { tick(); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.hidden) { stop(); } else if (!paused) { tick(); start(); }
    });
    apply();
  }

  function copyButtons() {
    // Delegated, so that buttons in content swapped in later (explorers) work too.
    document.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-copy]");
      if (!button || button.hasAttribute("data-copying")) { return; }
      var label = button.textContent;
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source) { return; }
      var value = source.textContent;
      function done() {
        button.setAttribute("data-copying", "");
        button.textContent = button.getAttribute("data-copied");
        window.setTimeout(function () { button.textContent = label; button.removeAttribute("data-copying"); }, 1500);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(value).then(done, function () { fallback(source); done(); });
      } else { fallback(source); done(); }
    });
  }

  function fallback(source) {
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected for Ctrl+C */ }
  }

  function confirmForms() {
    // A form with data-confirm (removing a member, revoking a token) asks first.
    document.addEventListener("submit", function (e) {
      var form = e.target.closest("form[data-confirm]");
      if (form && !window.confirm(form.getAttribute("data-confirm"))) { e.preventDefault(); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit();
    confirmForms();
    var table = document.getElementById("live-table");
    if (table) { eventRows(table); liveFeed(table); }
    copyButtons();
  });
})();
