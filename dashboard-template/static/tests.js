// The test explorer: filters and searches every test of the run in the browser
// and shows one page of rows at a time, so 10,000 tests stay fast.
(function () {
  "use strict";
  var root = document.getElementById("explorer");
  var data = window.CI_MEDIC_TESTS;
  if (!root) return;
  if (!data || !data.rows) {
    document.getElementById("explorer-status").textContent =
      "The test data (data/tests.js) did not load; the site may be incomplete.";
    return;
  }
  var PAGE = Number(root.getAttribute("data-page-size")) || 100;
  var files = data.files;
  var rows = data.rows.map(function (r, i) {
    return {
      i: i, title: r[0], file: files[r[1]] || "", line: r[2], project: r[3] || "",
      status: r[4], type: r[5] || "", duration: r[6] || 0, page: r[7] || null,
      hay: (r[0] + " " + (files[r[1]] || "") + " " + (r[3] || "") + " " + (r[5] || "")).toLowerCase()
    };
  });
  var controls = {
    q: document.getElementById("f-q"),
    status: document.getElementById("f-status"),
    type: document.getElementById("f-type"),
    file: document.getElementById("f-file")
  };
  // The file list can be long: it comes with the data instead of the page.
  files.slice().sort().forEach(function (f) {
    var option = document.createElement("option");
    option.value = f;
    option.textContent = f;
    controls.file.appendChild(option);
  });
  var tbody = document.getElementById("explorer-rows");
  var status = document.getElementById("explorer-status");
  var prev = document.getElementById("page-prev");
  var next = document.getElementById("page-next");
  var sortButtons = root.querySelectorAll("button[data-sort]");
  var state = { q: "", status: "", type: "", file: "", page: 0, sort: "", dir: 1 };
  var matched = rows;

  function fromHash() {
    // The address is the whole state: what it does not name is reset.
    state = { q: "", status: "", type: "", file: "", page: 0, sort: "", dir: 1 };
    var h = location.hash.replace(/^#/, "");
    h.split("&").forEach(function (kv) {
      if (!kv) return;
      var p = kv.split("=");
      var k = decodeURIComponent(p[0]);
      var v = decodeURIComponent((p[1] || "").replace(/\+/g, " "));
      if (k === "page") state.page = Math.max(0, (parseInt(v, 10) || 1) - 1);
      else if (k === "sort") state.sort = v;
      else if (k === "dir") state.dir = v === "desc" ? -1 : 1;
      else if (k in controls) state[k] = v;
    });
    Object.keys(controls).forEach(function (k) { controls[k].value = state[k]; });
    // A value a select does not offer (an old link) shows every test, not none.
    ["status", "type", "file"].forEach(function (k) { state[k] = controls[k].value; });
  }

  function toHash() {
    var parts = [];
    ["q", "status", "type", "file"].forEach(function (k) {
      if (state[k]) parts.push(k + "=" + encodeURIComponent(state[k]));
    });
    if (state.sort) parts.push("sort=" + state.sort, "dir=" + (state.dir < 0 ? "desc" : "asc"));
    if (state.page) parts.push("page=" + (state.page + 1));
    var h = parts.length ? "#" + parts.join("&") : "";
    if (h !== location.hash) history.replaceState(null, "", h || location.pathname);
  }

  function apply() {
    var q = state.q.trim().toLowerCase();
    var words = q ? q.split(/\s+/) : [];
    matched = rows.filter(function (r) {
      if (state.status && r.status !== state.status) return false;
      if (state.type && r.type !== state.type) return false;
      if (state.file && r.file !== state.file) return false;
      for (var w = 0; w < words.length; w++) if (r.hay.indexOf(words[w]) < 0) return false;
      return true;
    });
    if (state.sort) {
      var key = state.sort, dir = state.dir;
      matched.sort(function (a, b) {
        var x = a[key], y = b[key];
        if (x < y) return -dir;
        if (x > y) return dir;
        return a.i - b.i;
      });
    }
    var pages = Math.max(1, Math.ceil(matched.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    render(pages);
    toHash();
  }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function duration(ms) {
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    var s = Math.round(ms / 1000);
    return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  }

  function render(pages) {
    var start = state.page * PAGE;
    var slice = matched.slice(start, start + PAGE);
    var frag = document.createDocumentFragment();
    slice.forEach(function (r) {
      var tr = document.createElement("tr");
      var title = document.createElement("td");
      title.className = "title";
      if (r.page) {
        var a = document.createElement("a");
        a.href = r.page;
        a.textContent = r.title;
        title.appendChild(a);
      } else {
        title.textContent = r.title;
      }
      tr.appendChild(title);
      cell(tr, r.line ? r.file + ":" + r.line : r.file);
      cell(tr, r.project);
      var st = cell(tr, "");
      var badge = document.createElement("span");
      badge.className = "badge " + r.status;
      badge.textContent = r.status;
      st.appendChild(badge);
      cell(tr, r.type ? r.type.replace(/_/g, " ") : "");
      cell(tr, duration(r.duration), "num");
      frag.appendChild(tr);
    });
    tbody.replaceChildren(frag);
    var fmt = function (n) { return n.toLocaleString("en-US"); };
    status.textContent = matched.length
      ? "Showing " + fmt(start + 1) + "–" + fmt(start + slice.length) + " of " + fmt(matched.length) +
        " matching tests (" + fmt(rows.length) + " in the run), page " + (state.page + 1) + " of " + pages + "."
      : "No test matches these filters (" + fmt(rows.length) + " in the run).";
    prev.disabled = state.page === 0;
    next.disabled = state.page >= pages - 1;
    sortButtons.forEach(function (b) {
      var th = b.parentNode;
      if (b.getAttribute("data-sort") === state.sort) th.setAttribute("aria-sort", state.dir < 0 ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    });
  }

  var timer = null;
  controls.q.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = controls.q.value; state.page = 0; apply(); }, 120);
  });
  ["status", "type", "file"].forEach(function (k) {
    controls[k].addEventListener("change", function () { state[k] = controls[k].value; state.page = 0; apply(); });
  });
  document.getElementById("f-reset").addEventListener("click", function () {
    state = { q: "", status: "", type: "", file: "", page: 0, sort: "", dir: 1 };
    Object.keys(controls).forEach(function (k) { controls[k].value = ""; });
    apply();
  });
  prev.addEventListener("click", function () { if (state.page > 0) { state.page--; apply(); } });
  next.addEventListener("click", function () { state.page++; apply(); });
  sortButtons.forEach(function (b) {
    b.addEventListener("click", function () {
      var key = b.getAttribute("data-sort");
      if (state.sort === key) state.dir = -state.dir;
      else { state.sort = key; state.dir = key === "duration" ? -1 : 1; }
      state.page = 0;
      apply();
    });
  });
  window.addEventListener("hashchange", function () { fromHash(); apply(); });
  fromHash();
  apply();
})();
