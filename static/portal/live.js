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
  // Re-fetch one region (data-live-refresh: its URL, or empty for this page's own URL) and swap it in by
  // id at arrival, one request at a time per region: overlapping swaps of one element would race.
  var fetching = {};
  // A live message is about to change `el`: a region being re-fetched around it may have been rendered before
  // that change, so it is fetched once more after this copy arrives (the page converges, never goes back).
  function refetchingAround(el) {
    Object.keys(fetching).forEach(function (id) {
      var region = document.getElementById(id);
      if (region && region.contains(el)) fetching[id].again = true;
    });
  }
  function refreshRegion(id) {
    if (fetching[id]) { fetching[id].again = true; return; }
    var el = document.getElementById(id);
    if (!el) return;
    fetching[id] = { again: false };
    fetch(el.dataset.liveRefresh || window.location.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        var region = document.getElementById(id);
        // A live message changed this region while its copy was being rendered: that copy may predate the
        // change, so it is fetched once more (below) rather than trusted to hold it.
        if (html !== null && region) {
          var typed = typedValues(region);
          var opened = openParts(region);
          htmx.swap("#" + id, html, { swapStyle: "outerHTML", ignoreTitle: true }, { select: "#" + id });
          restoreValues(typed);
          restoreOpenParts(opened);
        }
      })
      .catch(function () { /* offline for a moment: the next message or reconnect refreshes it */ })
      .finally(function () {
        var again = fetching[id].again;
        delete fetching[id];
        if (again) refreshRegion(id);
      });
  }
  // What a person typed or picked in a region's form survives the region's refresh (a live update must not
  // wipe a half-filled form): fields with an id whose value differs from the one rendered are put back.
  function typedValues(region) {
    var typed = {};
    region.querySelectorAll("input[id], select[id], textarea[id]").forEach(function (f) {
      if (f.type === "hidden" || f.type === "password") return;
      if (f.type === "checkbox" || f.type === "radio") {
        if (f.checked !== f.defaultChecked) typed[f.id] = f.checked;
      } else if (f.tagName === "SELECT") {
        if (Array.from(f.options).some(function (o) { return o.selected !== o.defaultSelected; })) typed[f.id] = f.value;
      } else if (f.value !== f.defaultValue) {
        typed[f.id] = f.value;
      }
    });
    return typed;
  }
  // Panels and forms a person opened stay open, and a form's answer stays, across the region's refresh (the
  // refresh on (re)connect can land just after a click: it must not fold the panel the person is using).
  function detailsKey(d) {
    if (d.id) return "#" + d.id;
    return d.parentElement && d.parentElement.id ? "#" + d.parentElement.id + " > details" : null;
  }
  function openParts(region) {
    var parts = { open: [], results: {}, answers: {} };
    region.querySelectorAll("details").forEach(function (d) {
      var key = detailsKey(d);
      if (!key || !d.open) return;
      parts.open.push(key);
      var result = d.id ? d.querySelector(":scope > .result") : null;
      if (result && result.innerHTML.trim()) parts.results[d.id] = result.innerHTML;
    });
    // A row's answer (<span id="result-…" data-answer>) stays too: the rows are redrawn, the answer is the person's.
    region.querySelectorAll("[data-answer][id]").forEach(function (el) {
      if (el.innerHTML.trim()) parts.answers[el.id] = el.innerHTML;
    });
    return parts;
  }
  function restoreOpenParts(parts) {
    parts.open.forEach(function (key) {
      var d = document.querySelector(key);
      if (!d || d.open) return;
      d.dataset.restoring = "";  // reopened by the refresh, not by the person: its answer is kept
      d.open = true;
    });
    Object.keys(parts.results).forEach(function (detailsId) {
      var d = document.getElementById(detailsId);
      var result = d ? d.querySelector(":scope > .result") : null;
      if (result && !result.innerHTML.trim()) result.innerHTML = parts.results[detailsId];
    });
    Object.keys(parts.answers).forEach(function (answerId) {
      var el = document.getElementById(answerId);
      if (el && !el.innerHTML.trim()) el.innerHTML = parts.answers[answerId];
    });
  }
  // Where an answer goes when the element it was meant for was redrawn meanwhile: the same place in the new
  // copy (found by id, or as the result of the same details), if there is one.
  function samePlaceNow(target) {
    if (!target || document.body.contains(target)) return null;
    if (target.id) return document.getElementById(target.id);
    var details = target.parentElement && target.parentElement.closest("details[id]");
    var now = details ? document.getElementById(details.id) : null;
    return now && target.classList.contains("result") ? now.querySelector(":scope > .result") : null;
  }
  function restoreValues(typed) {
    Object.keys(typed).forEach(function (fieldId) {
      var f = document.getElementById(fieldId);
      if (!f) return;
      if (f.type === "checkbox" || f.type === "radio") f.checked = typed[fieldId];
      else f.value = typed[fieldId];
    });
  }
  // Changes made between rendering the page and subscribing (or while reconnecting) would be missed:
  // every region marked data-live-refresh is fetched again whenever the socket (re)opens, and so is every
  // data-live-resync URL (fetched without a target: its out-of-band parts swap themselves in).
  function refreshLiveRegions() {
    document.querySelectorAll("[data-live-refresh]").forEach(function (el) { if (el.id) refreshRegion(el.id); });
    document.querySelectorAll("[data-live-resync]").forEach(function (el) {
      htmx.ajax("GET", el.dataset.liveResync, { source: el, swap: "none" });
    });
  }
  // Numbered frames (portal/live_frames.py): each publishing process numbers its messages per group, and
  // a dropped one keeps its number. A number that does not follow the last one from the same process
  // means frames were lost on the way (a channel at capacity behind a slow socket, Redis away): the page
  // re-fetches its live regions instead of showing stale state (issue 23). The count of gaps seen is
  // kept on <body data-live-gaps> for the curious and for tests.
  var lastSeq = {};
  var resyncTimer = null;
  function resyncSoon() {
    if (resyncTimer) return;  // a burst of gaps costs one re-fetch
    resyncTimer = setTimeout(function () { resyncTimer = null; refreshLiveRegions(); }, 100);
  }
  function readFrame(marker) {
    var key = marker.dataset.liveFrame + " " + marker.dataset.source;
    var seq = parseInt(marker.dataset.seq, 10);
    var last = lastSeq[key];
    lastSeq[key] = seq;
    if (last !== undefined && seq !== last + 1) {
      document.body.dataset.liveGaps = String((parseInt(document.body.dataset.liveGaps || "0", 10) || 0) + 1);
      resyncSoon();
    }
  }
  // A command's toast belongs to the page that issued it (issue 31): the user's group reaches every tab
  // (and the wallboard), so a toast is shown only where its command's form result is, or was, on this page.
  var issued = {};
  function noteIssued() {
    document.querySelectorAll("[data-issued]").forEach(function (el) { issued[el.dataset.issued] = true; });
  }
  document.addEventListener("htmx:afterSettle", noteIssued);
  // Read from the answer itself too: a row's result can be redrawn away by a live refresh before it settles.
  // A fast outcome's toast can come over the socket before this page's answer: held until the answer is in.
  // Followed on the request itself, not through htmx's events: a form redrawn by a live refresh while its
  // request was out is no longer in the page, and htmx's events on it reach no listener here.
  var inFlight = 0, heldToasts = [];
  document.addEventListener("htmx:beforeRequest", function (e) {
    var xhr = e.detail && e.detail.xhr;
    if (!xhr) return;
    var target = e.detail.target;
    inFlight += 1;
    xhr.addEventListener("loadend", function () {
      inFlight = Math.max(0, inFlight - 1);
      var text = xhr.status >= 200 && xhr.status < 300 ? xhr.responseText || "" : "";
      var found, pattern = /data-issued="(\d+)"/g;
      while ((found = pattern.exec(text)) !== null) issued[found[1]] = true;
      var box = document.getElementById("toasts");
      var shown = heldToasts.filter(function (held) { return box && issued[held.command]; });
      heldToasts = inFlight ? heldToasts.filter(function (held) { return shown.indexOf(held) < 0; }) : [];
      shown.forEach(function (held) { box.insertAdjacentHTML("afterbegin", held.html); });
      if (text && text.indexOf("data-issued") >= 0) {
        // After htmx's own handling of the answer (this event comes first): if its target was redrawn away, the answer goes to the new copy.
        setTimeout(function () {
          var now = samePlaceNow(target);
          if (now && !now.innerHTML.trim()) htmx.swap(now, text, { swapStyle: "innerHTML" });
        }, 0);
      }
    });
  });
  // A command form's answer carries a fresh one-time token: it goes into the form that posted.
  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    var source = e.detail.requestConfig && e.detail.requestConfig.elt;
    var form = source && (source.tagName === "FORM" ? source : source.closest("form"));
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("[data-fresh-token]").forEach(function (fresh) {
      var input = form && form.querySelector("input[name=idempotency_token]");
      if (input) input.value = fresh.value;
      fresh.remove();
    });
  });
  function isForeignToast(child) {
    var toast = child.querySelector ? child.querySelector(".toast[data-command]") : null;
    if (!toast) return false;
    noteIssued();
    return !document.getElementById("toasts") || !issued[toast.dataset.command];
  }
  var pending = null;
  function refetchSoon() {
    if (pending) return;
    pending = setTimeout(function () {
      pending = null;
      document.querySelectorAll("[data-live-refetch]").forEach(function (el) { if (el.id) refreshRegion(el.id); });
    }, 500);
  }
  // A group speaks about more than one page shows (rows on other pages or outside a filter, panels
  // another page has). Before htmx swaps a socket message, fragments whose target is not on this page
  // are dropped (htmx would log oobErrorNoTarget); on a filtered list (data-live-refetch) the list is
  // re-fetched instead of patched, since a pushed row cannot tell whether it matches the filters; and
  // <div data-refresh="id id"> asks to re-fetch those regions (their content depends on the viewer).
  htmx.defineExtension("live-oob", {
    transformResponse: function (text) {
      var template = document.createElement("template");
      template.innerHTML = text;
      Array.from(template.content.children).forEach(function (child) {
        if (child.dataset.liveFrame !== undefined) {
          readFrame(child);
          child.remove();
          return;
        }
        if (child.dataset.refresh !== undefined) {
          child.dataset.refresh.split(/\s+/).forEach(function (id) { if (id) refreshRegion(id); });
          child.remove();
          return;
        }
        if (isForeignToast(child)) {
          var toast = child.querySelector(".toast[data-command]");
          if (inFlight && document.getElementById("toasts")) heldToasts.push({ command: toast.dataset.command, html: toast.outerHTML });
          child.remove();
          return;
        }
        var spec = child.getAttribute("hx-swap-oob") || "true";
        var colon = spec.indexOf(":");
        var selector = colon > 0 ? spec.slice(colon + 1) : (child.id ? "#" + CSS.escape(child.id) : "");
        var target = null;
        try { target = selector ? document.querySelector(selector) : null; } catch (e) { /* not a CSS selector */ }
        if (target) refetchingAround(target);
        var filtered = document.querySelector("[data-live-refetch]");
        if (target && !target.closest("[data-live-refetch]")) return;
        if (filtered) refetchSoon();
        child.remove();
      });
      return template.innerHTML;
    }
  });
  // Lists patched live keep their page size: rows pushed on top push the oldest out.
  function trimLists() {
    document.querySelectorAll("[data-live-limit]").forEach(function (el) {
      var limit = parseInt(el.dataset.liveLimit, 10);
      while (limit > 0 && el.children.length > limit) el.lastElementChild.remove();
    });
  }
  document.addEventListener("htmx:wsOpen", function () {
    setStatus("connected", "Live");
    document.body.dataset.live = "connected";
    lastSeq = {};  // what was missed while away is re-fetched here; numbering is judged afresh from now
    refreshLiveRegions();
  });
  document.addEventListener("htmx:wsClose", function () { setStatus("reconnecting", "Reconnecting…"); document.body.dataset.live = "reconnecting"; });
  document.addEventListener("htmx:wsAfterMessage", function () { stamp(); tick(); trimLists(); });

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
  // A region swapped in by htmx (a refetch, a form result) shows its durations at once, not a second later.
  document.addEventListener("htmx:afterSettle", tick);

  // Toasts sit in the page's flow (above its content, covering nothing); successes leave after a few
  // seconds, failures and unknown outcomes stay until clicked.
  var toasts = document.getElementById("toasts");
  if (toasts) {
    new MutationObserver(function (records) {
      records.forEach(function (r) {
        r.addedNodes.forEach(function (node) {
          if (node.nodeType !== 1 || !node.classList.contains("toast")) return;
          node.title = "Click to dismiss";
          node.addEventListener("click", function () { node.remove(); });
          if (node.classList.contains("succeeded")) setTimeout(function () { node.remove(); }, 5000);
        });
      });
    }).observe(toasts, { childList: true });
  }

  // Reopening an action's form starts afresh: its previous result goes (issue 31).
  document.addEventListener("toggle", function (e) {
    var details = e.target;
    if (details.dataset && details.dataset.restoring !== undefined) {
      delete details.dataset.restoring;
      return;
    }
    if (details.classList && details.classList.contains("action") && details.open) {
      var result = details.querySelector(":scope > .result");
      if (result) result.innerHTML = "";
    }
  }, true);

  // <form data-confirm="..."> asks before destructive actions, with or without htmx.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
})();
