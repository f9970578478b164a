/* OpsLoop dashboards: each tile's chart is fetched on its own (two at a time), so the page shows
   at once with a loading state per tile and a slow query never holds up the others. Without
   JavaScript the tiles show the same charts as images drawn on the server. No user-facing
   strings here: they come from the page. */
(function () {
  "use strict";

  var PARALLEL = 2;

  function load(tile) {
    return fetch(tile.getAttribute("data-tile-src"), {
      credentials: "same-origin",
      headers: { Accept: "text/html" }
    }).then(function (r) {
      if (!r.ok) { throw new Error("failed"); }
      return r.text();
    }).then(function (html) {
      tile.innerHTML = html;
      tile.setAttribute("aria-busy", "false");
      tile.setAttribute("data-tile-state", "ready");
      if (window.OpsLoopCharts) { return window.OpsLoopCharts.renderAll(tile); }
      return null;
    }).catch(function () {
      tile.setAttribute("aria-busy", "false");
      tile.setAttribute("data-tile-state", "error");
      var p = document.createElement("p");
      p.className = "alert alert-error";
      p.textContent = tile.getAttribute("data-failed");
      tile.replaceChildren(p);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var queue = Array.prototype.slice.call(document.querySelectorAll("[data-tile-src]"));
    function next() {
      var tile = queue.shift();
      if (tile) { load(tile).then(next); }
    }
    for (var i = 0; i < PARALLEL; i++) { next(); }
  });
})();
