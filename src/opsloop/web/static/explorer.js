/* OpsLoop explorers: with JavaScript, the explorer form refreshes its results in place. A submit
   (the Show button, Enter, a row's add / remove button, or a changed select marked data-autorun)
   fetches the same URL with partial=1 and swaps the explorer's body, showing a loading state
   meanwhile; the address bar keeps the query, so reload, back and sharing work. Without
   JavaScript the same form is a plain GET. Texts come from the page (translated there). */
(function () {
  "use strict";

  var controller = null;

  function paramsOf(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) { data.append(submitter.name, submitter.value); }
    var params = new URLSearchParams();
    data.forEach(function (value, key) { params.append(key, value); });
    return params;
  }

  function setBusy(root, busy, message) {
    root.classList.toggle("is-loading", busy);
    root.setAttribute("aria-busy", busy ? "true" : "false");
    var status = root.querySelector(".explorer-status");
    if (!status) {
      status = document.createElement("div");
      status.className = "explorer-status";
      status.setAttribute("role", "status");
      status.setAttribute("data-testid", "explorer-loading");
      root.insertBefore(status, root.firstChild);
    }
    status.textContent = busy ? message : "";
    status.hidden = !busy;
  }

  function run(root, form, submitter) {
    var params = paramsOf(form, submitter);
    params.set("partial", "1");
    var action = form.getAttribute("action");
    if (controller) { controller.abort(); }
    controller = new AbortController();
    var focusedId = document.activeElement && document.activeElement.id;
    setBusy(root, true, root.getAttribute("data-loading"));
    fetch(action + "?" + params.toString(), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
      signal: controller.signal
    }).then(function (response) {
      if (response.status === 401 || response.redirected) { window.location.reload(); return null; }
      return response.text();
    }).then(function (html) {
      if (html === null) { return; }
      root.innerHTML = html;
      setBusy(root, false, "");
      var marker = root.querySelector("[data-explorer-url]");
      if (marker) { window.history.replaceState(null, "", marker.getAttribute("data-explorer-url")); }
      if (window.OpsLoopCharts) { window.OpsLoopCharts.renderAll(root); }
      if (focusedId && document.getElementById(focusedId)) { document.getElementById(focusedId).focus(); }
      root.dispatchEvent(new CustomEvent("explorer:updated", { bubbles: true }));
    }).catch(function (err) {
      if (err && err.name === "AbortError") { return; }
      setBusy(root, false, "");
      var status = root.querySelector(".explorer-status");
      status.hidden = false;
      status.textContent = root.getAttribute("data-failed");
      status.classList.add("alert", "alert-error");
    });
  }

  function wire(root) {
    root.addEventListener("submit", function (e) {
      var form = e.target.closest("form[data-explorer-form]");
      if (!form) { return; }
      e.preventDefault();
      run(root, form, e.submitter || null);
    });
    root.addEventListener("change", function (e) {
      if (!e.target.matches("[data-autorun]")) { return; }
      var form = e.target.closest("form[data-explorer-form]");
      if (form && form.checkValidity()) { run(root, form, null); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-explorer]").forEach(wire);
  });
})();
