// grite board: follow the server's event stream and reload the page's
// live region when a change concerns it. Without JavaScript the pages and
// forms work the same, only without live updates.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var status = document.getElementById("status");
  var body = document.body;
  var gen = body.getAttribute("data-gen");
  var watch = (body.getAttribute("data-watch") || "").split(" ").filter(Boolean);
  var busy = false, again = false;

  function concerns(c) {
    if (!watch.length || c.locks) return true;
    return (c.issues || []).some(function (id) { return watch.indexOf(id) >= 0; });
  }

  // One fetch at a time; changes that arrive meanwhile make one more.
  function refresh() {
    if (!live) return;
    if (busy) { again = true; return; }
    busy = true;
    var u = new URL(window.location.href);
    u.searchParams.set("_f", "1");
    u.searchParams.delete("note");
    fetch(u.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html !== null) {
          live.innerHTML = html; // server-rendered and escaped
          body.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (!window.EventSource) return;
  var es = new EventSource("/live");
  es.addEventListener("open", function () { if (status) status.className = "status on"; });
  es.addEventListener("error", function () { if (status) status.className = "status off"; });
  es.addEventListener("hello", function (e) {
    var d = JSON.parse(e.data);
    if (String(d.gen) !== gen) { gen = String(d.gen); refresh(); }
  });
  es.addEventListener("change", function (e) {
    var d = JSON.parse(e.data);
    gen = String(d.gen);
    if (concerns(d)) refresh();
  });
})();
