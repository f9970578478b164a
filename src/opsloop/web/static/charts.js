/* OpsLoop charts: draws every chart container's embedded spec (Vega-Lite, or Vega for the paths
   Sankey) with vega-embed, served from /static/vendor. Specs are built on the server, themed and
   translated there; this file holds no user-facing strings.

   Markup: <figure data-chart> holding <script type="application/json" class="chart-spec"> and a
   <div class="chart-canvas">. The page's Content-Security-Policy forbids eval, so Vega runs its
   expressions through the interpreter (ast: true); vega-embed's own style sheet is not injected
   (console.css styles the tooltip). */
(function () {
  "use strict";

  var views = new WeakMap();

  function specOf(figure) {
    var holder = figure.querySelector("script.chart-spec");
    if (!holder) { return null; }
    try { return JSON.parse(holder.textContent); } catch (e) { return null; }
  }

  function setState(figure, state) {
    figure.setAttribute("data-chart-state", state);
    figure.setAttribute("aria-busy", state === "loading" ? "true" : "false");
  }

  function render(figure) {
    var spec = specOf(figure);
    var canvas = figure.querySelector(".chart-canvas");
    if (!spec || !canvas) { return Promise.resolve(null); }
    if (typeof window.vegaEmbed !== "function") { setState(figure, "error"); return Promise.resolve(null); }
    var previous = views.get(figure);
    if (previous) { previous.finalize(); views.delete(figure); }
    setState(figure, "loading");
    return window.vegaEmbed(canvas, spec, {
      actions: false,
      ast: true,
      defaultStyle: false,
      renderer: "svg",
      tooltip: { disableDefaultStyle: true, offsetX: 12, offsetY: 12 }
    }).then(function (result) {
      views.set(figure, result);
      setState(figure, "ready");
      return result;
    }).catch(function (err) {
      setState(figure, "error");
      if (window.console) { console.error("chart failed", err); }
      return null;
    });
  }

  function renderAll(root) {
    var figures = (root || document).querySelectorAll("[data-chart]");
    return Promise.all(Array.prototype.map.call(figures, render));
  }

  window.OpsLoopCharts = { render: render, renderAll: renderAll };
  document.addEventListener("DOMContentLoaded", function () { renderAll(document); });
})();
