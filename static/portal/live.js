// Live channel status, ticking durations, toasts and confirmations for every portal page.
(function () {
  "use strict";
  function setStatus(state, label) {
    var box = document.getElementById("live-status");
    if (!box) return;
    box.dataset.state = state;
    box.querySelector(".label").textContent = label;
  }
  function stamp() {
    var el = document.getElementById("last-update");
    if (el) el.textContent = "updated " + new Date().toLocaleTimeString();
  }
  document.addEventListener("htmx:wsConnecting", function () { setStatus("connecting", "Connecting…"); });
  // Changes made between rendering the page and subscribing (or while reconnecting) would be missed:
  // every region marked data-live-refresh is fetched again whenever the socket (re)opens.
  function refreshLiveRegions() {
    document.querySelectorAll("[data-live-refresh]").forEach(function (el) {
      if (!el.id) return;
      var url = el.dataset.liveRefresh || window.location.href;
      htmx.ajax("GET", url, { target: "#" + el.id, select: "#" + el.id, swap: "outerHTML" });
    });
  }
  document.addEventListener("htmx:wsOpen", function () {
    setStatus("connected", "Live");
    document.body.dataset.live = "connected";
    refreshLiveRegions();
  });
  document.addEventListener("htmx:wsClose", function () { setStatus("reconnecting", "Reconnecting…"); document.body.dataset.live = "reconnecting"; });
  document.addEventListener("htmx:wsAfterMessage", function () { stamp(); tick(); });

  function formatDuration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    // h:mm:ss everywhere, the same as the server's `duration` filter.
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return h + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (!isNaN(since)) el.textContent = formatDuration((now - since) / 1000);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);

  // Toasts dismiss themselves; failures stay until clicked.
  new MutationObserver(function (records) {
    records.forEach(function (r) {
      r.addedNodes.forEach(function (node) {
        if (node.nodeType !== 1 || !node.classList.contains("toast")) return;
        node.addEventListener("click", function () { node.remove(); });
        if (!node.classList.contains("failed")) setTimeout(function () { node.remove(); }, 8000);
      });
    });
  }).observe(document.getElementById("toasts") || document.body, { childList: true });

  // <form data-confirm="..."> asks before destructive actions, with or without htmx.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();
