// Alerts (issue 26): a browser notification, and an optional sound, for a critical alert that opens
// while the portal's tab is in the background. Opt-in: the Alerts page asks for the permission.
(function () {
  var SEEN = "portal.alerts.seen", SOUND = "portal.alerts.sound";
  function seen() {
    try { return JSON.parse(sessionStorage.getItem(SEEN) || "[]"); } catch (e) { return []; }
  }
  function remember(ids) { try { sessionStorage.setItem(SEEN, JSON.stringify(ids.slice(-200))); } catch (e) { /* private mode */ } }
  function soundOn() { try { return localStorage.getItem(SOUND) === "1"; } catch (e) { return false; } }
  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    var ctx = new Context(), osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = 880; gain.gain.value = 0.15;
    osc.connect(gain); gain.connect(ctx.destination);
    osc.start(); osc.stop(ctx.currentTime + 0.4);
  }
  // Critical alerts not announced yet in this tab; the first look only records what is already open.
  var primed = false;
  function check() {
    var known = seen(), fresh = [];
    document.querySelectorAll('#alert-banner .alert-item[data-severity="critical"][data-status="open"]').forEach(function (el) {
      if (known.indexOf(el.dataset.alertId) === -1) { fresh.push(el); known.push(el.dataset.alertId); }
    });
    remember(known);
    if (!primed) { primed = true; return; }
    if (!fresh.length || !document.hidden) return;
    fresh.forEach(function (el) {
      if (window.Notification && Notification.permission === "granted") {
        var link = el.querySelector("a.what");
        var note = new Notification("Critical alert", { body: el.dataset.text, tag: "portal-alert-" + el.dataset.alertId });
        note.onclick = function () { window.focus(); if (link) window.location.href = link.href; };
      }
    });
    if (soundOn()) beep();
    document.title = "(!) " + document.title.replace(/^\(!\) /, "");
  }
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) document.title = document.title.replace(/^\(!\) /, "");
  });
  // The banner is swapped whole when alerts change (live.js re-fetches it): look again at each swap.
  new MutationObserver(function (records) {
    var swapped = records.some(function (r) {
      return Array.prototype.some.call(r.addedNodes, function (node) {
        return node.nodeType === 1 && (node.id === "alert-banner" || (node.querySelector && node.querySelector("#alert-banner")));
      });
    });
    if (swapped) check();
  }).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", function () {
    check();
    var ask = document.querySelector("[data-alert-notifications]");
    if (ask && window.Notification && Notification.permission === "default") {
      ask.hidden = false;
      ask.addEventListener("click", function () {
        Notification.requestPermission().then(function () { ask.hidden = true; });
      });
    }
    var toggle = document.querySelector("[data-alert-sound]");
    if (toggle) {
      toggle.closest("label").hidden = false;
      toggle.checked = soundOn();
      toggle.addEventListener("change", function () {
        try { localStorage.setItem(SOUND, toggle.checked ? "1" : "0"); } catch (e) { /* private mode */ }
      });
    }
  });
})();
