// The wallboard: a clock, how long ago the board last changed, and the "Full screen" button (issue 31).
(function () {
  "use strict";
  document.addEventListener("click", function (e) {
    var button = e.target.closest("[data-fullscreen]");
    if (!button) return;
    if (document.fullscreenElement) document.exitFullscreen();
    else if (document.documentElement.requestFullscreen) document.documentElement.requestFullscreen();
  });
  var updated = Date.now();
  function touched() { updated = Date.now(); show(); }
  function show() {
    var clock = document.getElementById("wallboard-clock");
    if (clock) clock.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
    var age = document.getElementById("wallboard-updated");
    if (!age) return;
    var secs = Math.floor((Date.now() - updated) / 1000);
    age.textContent = secs < 5 ? "updated just now" : secs < 120 ? "updated " + secs + " s ago" : "updated " + Math.floor(secs / 60) + " min ago";
    // Stale: no message or redraw for over two minutes (the board redraws each minute by itself).
    age.classList.toggle("stale", secs >= 120);
  }
  document.addEventListener("htmx:wsAfterMessage", touched);
  document.addEventListener("htmx:afterSwap", touched);
  document.addEventListener("DOMContentLoaded", show);
  setInterval(show, 1000);
})();
