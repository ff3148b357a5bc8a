/* Custom classifier UI: progressive enhancement in plain JavaScript (every form also works
   without it). No dependencies; charts are drawn as SVG. */
(function () {
  "use strict";
  const $ = (selector, root) => (root || document).querySelector(selector);
  const csrf = () => $('meta[name="csrf-token"]').content;
  const page = document.body.dataset.page;

  function fetchText(url, options) {
    const init = Object.assign({ credentials: "same-origin" }, options || {});
    init.headers = Object.assign({ "X-Requested-With": "fetch", "X-CSRF-Token": csrf() }, init.headers || {});
    return fetch(url, init).then(async (response) => {
      const text = await response.text();
      if (response.status === 401) { window.location.assign("/ui/login?next=" + encodeURIComponent(location.pathname + location.search)); }
      if (!response.ok) {
        let message = "The server answered " + response.status + ".";
        try { const body = JSON.parse(text); message = body.error.message + (body.error.hint ? " " + body.error.hint : ""); } catch (e) { /* a page */ }
        throw new Error(message);
      }
      return text;
    }, () => { throw new Error("The server cannot be reached; check your connection and try again."); });
  }

  function problem(text) {
    const p = document.createElement("p");
    p.className = "problem"; p.setAttribute("role", "alert"); p.textContent = text;
    return p;
  }

  // Confirmations and copy buttons, on every page.
  document.addEventListener("submit", (event) => {
    const message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) { event.preventDefault(); }
  }, true);
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) { return; }
    const source = document.getElementById(button.dataset.copy);
    const text = "value" in source ? source.value : source.textContent;
    const selectIt = () => {
      if (source.select) { source.select(); return; }
      const range = document.createRange(); range.selectNodeContents(source);
      window.getSelection().removeAllRanges(); window.getSelection().addRange(range);
    };
    (navigator.clipboard ? navigator.clipboard.writeText(text) : Promise.reject()).then(
      () => { button.textContent = "Copied"; }, () => { selectIt(); document.execCommand("copy"); button.textContent = "Copied"; });
  });

  // --- new classifier: browse, check a folder, upload a zip ----------------------------------
  function setupNew() {
    const browsePanel = $("#browse-panel");
    const labelsPanel = $("#labels-panel");
    const location = $("#location");

    function browse(path) {
      browsePanel.classList.add("busy");
      fetchText("/ui/new/browse?path=" + encodeURIComponent(path || ""))
        .then((html) => { browsePanel.innerHTML = html; const first = $("a, button", browsePanel); if (first) { first.focus(); } })
        .catch((error) => { browsePanel.prepend(problem(error.message)); })
        .finally(() => browsePanel.classList.remove("busy"));
    }
    function check(path) {
      if (!path) { labelsPanel.replaceChildren(problem("Choose a folder first, or type its path.")); return; }
      location.value = path;
      labelsPanel.classList.add("busy");
      const level = new URLSearchParams({ location: path, depth: $("#depth").value, hierarchical: $("#hierarchical").checked ? "yes" : "" });
      fetchText("/ui/new/labels?" + level.toString())
        .then((html) => {
          labelsPanel.innerHTML = html;
          const found = $("#labels", labelsPanel);
          if (found) { location.value = found.dataset.location; }
        })
        .catch((error) => { labelsPanel.replaceChildren(problem(error.message)); })
        .finally(() => labelsPanel.classList.remove("busy"));
    }
    browsePanel.addEventListener("click", (event) => {
      const link = event.target.closest("[data-browse], [data-use]");
      if (!link) { return; }
      event.preventDefault();
      if (link.hasAttribute("data-use")) { check(link.dataset.use); } else { browse(link.dataset.browse); }
    });
    $("#check-button").addEventListener("click", (event) => { event.preventDefault(); check(location.value.trim()); });
    // The level of nested label folders changes which labels there are: read the folder again.
    for (const field of [$("#depth"), $("#hierarchical")]) {
      field.addEventListener("change", () => { if (location.value.trim()) { check(location.value.trim()); } });
    }
    location.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); check(location.value.trim()); }
    });

    const uploadForm = $("#upload-form");
    const zip = $("#zip");
    const bar = $("#upload-progress");
    const status = $("#upload-status");
    uploadForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!zip.files.length) { status.textContent = "Choose a .zip file first."; return; }
      const data = new FormData();
      data.append("file", zip.files[0]);
      const request = new XMLHttpRequest();
      request.open("POST", uploadForm.action);
      request.setRequestHeader("X-Requested-With", "fetch");
      request.setRequestHeader("X-CSRF-Token", csrf());
      bar.hidden = false;
      $("#upload-button").disabled = true;
      request.upload.onprogress = (e) => {
        if (!e.lengthComputable) { return; }
        const percent = Math.round(100 * e.loaded / e.total);
        $(".bar", bar).style.width = percent + "%";
        bar.setAttribute("aria-valuenow", percent);
        status.textContent = percent < 100 ? "Uploading… " + percent + " %" : "Unpacking and checking…";
      };
      request.onloadend = () => {
        $("#upload-button").disabled = false;
        let body = null;
        try { body = JSON.parse(request.responseText); } catch (e) { /* not JSON */ }
        if (request.status === 200 && body) {
          $(".bar", bar).style.width = "100%";
          const name = $("#name");
          if (name && !name.value.trim() && body.name) { name.value = body.name; }
          const count = Object.keys(body.labels).length;
          status.textContent = "Uploaded: " + count + " label folder" + (count === 1 ? "" : "s") + ".";
          check(body.location);
        } else {
          bar.hidden = true;
          status.textContent = body && body.error ? body.error.message + " " + (body.error.hint || "")
            : "The upload failed (" + (request.status || "no connection") + "); try again.";
        }
      };
      request.send(data);
    });
  }

  // --- charts ---------------------------------------------------------------------------------
  const W = 480, H = 220, PAD = { left: 44, right: 12, top: 12, bottom: 26 };
  const SVG = "http://www.w3.org/2000/svg";
  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  // Enough decimals that neighbouring grid labels differ (a loss moving from 0.6931 to 0.6948).
  function fmt(value, step) {
    if (!step) {
      return Number.isInteger(value) ? String(value) : value.toFixed(Math.abs(value) >= 100 ? 0 : 2);
    }
    let decimals = Math.min(4, Math.max(0, Math.ceil(-Math.log10(step))));
    while (decimals < 4 && Math.abs(step * 10 ** decimals - Math.round(step * 10 ** decimals)) > 1e-6) { decimals += 1; }
    return value.toFixed(decimals);
  }
  function drawChart(svg, series, options) {
    svg.replaceChildren();
    const all = series.flatMap((s) => s.points);
    if (!all.length) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, options.empty));
      return;
    }
    const xs = all.map((p) => p.x), ys = all.map((p) => p.y);
    const x0 = options.xMin !== undefined ? options.xMin : Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
    let y0 = options.yMin !== undefined ? options.yMin : Math.min(...ys), y1 = options.yMax !== undefined ? options.yMax : Math.max(...ys);
    // At least 1% of the values' size from bottom to top: a flat curve stays flat, not noise.
    const span = Math.max(1e-9, 0.01 * Math.max(Math.abs(y0), Math.abs(y1)));
    if (y1 - y0 < span) {
      const middle = (y0 + y1) / 2, half = y1 - y0 < 1e-9 && span < 1e-6 ? 0.5 : span / 2;
      y0 = middle - half; y1 = middle + half;
    }
    const sx = (x) => PAD.left + (x - x0) / (x1 - x0) * (W - PAD.left - PAD.right);
    const sy = (y) => H - PAD.bottom - (y - y0) / (y1 - y0) * (H - PAD.top - PAD.bottom);
    for (let i = 0; i <= 4; i++) {
      const y = y0 + (y1 - y0) * i / 4;
      svg.appendChild(el("line", { x1: PAD.left, x2: W - PAD.right, y1: sy(y), y2: sy(y), class: "grid-line" }));
      svg.appendChild(el("text", { x: PAD.left - 6, y: sy(y) + 4, "text-anchor": "end", class: "axis-text" }, fmt(y, (y1 - y0) / 4)));
    }
    svg.appendChild(el("text", { x: PAD.left, y: H - 6, class: "axis-text" }, options.xLabel + " " + fmt(x0)));
    svg.appendChild(el("text", { x: W - PAD.right, y: H - 6, "text-anchor": "end", class: "axis-text" }, fmt(x1)));
    series.forEach((s, index) => {
      if (!s.points.length) { return; }
      const d = s.points.map((p, i) => (i ? "L" : "M") + sx(p.x).toFixed(1) + " " + sy(p.y).toFixed(1)).join(" ");
      svg.appendChild(el("path", { d: d, class: "series " + (s.className || "s" + (index + 1)) }));
      if (s.points.length <= 60) {
        const dot = s.dotClass || "dot" + (index + 1);
        s.points.forEach((p) => svg.appendChild(s.marker === "square"
          ? el("rect", { x: sx(p.x) - 4.5, y: sy(p.y) - 4.5, width: 9, height: 9, class: dot + " marker" })
          : el("circle", { cx: sx(p.x), cy: sy(p.y), r: 3, class: dot + " marker" })));
      }
    });
  }
  // The points the training recorded (the job row keeps every one; each event brings them all).
  function Curves(points) {
    let loss = [], validation = [];
    function draw() {
      const lossChart = $("#loss-chart"), valChart = $("#val-chart");
      if (lossChart) { drawChart(lossChart, [{ points: loss }], { xLabel: "epoch", xMin: 0, empty: "The loss appears once training starts." }); }
      if (valChart) {
        // Accuracy first, macro-F1 (dashed, square markers) on top: equal scores stay visible.
        drawChart(valChart, [
          { points: validation.map((p) => ({ x: p.x, y: p.accuracy })), marker: "circle", className: "s2", dotClass: "dot2" },
          { points: validation.map((p) => ({ x: p.x, y: p.macro_f1 })), marker: "square", className: "s1 dashed", dotClass: "dot1" },
        ], { xLabel: "epoch", xMin: 0, yMin: 0, yMax: 1, empty: "Validation scores appear after each epoch." });
      }
    }
    function replace(next) {
      const fresh = next || {};
      const changed = (fresh.loss || []).length !== loss.length || (fresh.validation || []).length !== validation.length
        || JSON.stringify(fresh.loss || []) !== JSON.stringify(loss);
      loss = (fresh.loss || []).slice(); validation = (fresh.validation || []).slice();
      return changed;
    }
    replace(points);
    return { draw: draw, update(next) { if (replace(next)) { draw(); } } };
  }

  // --- job page: live progress over server-sent events ------------------------------------------
  function setupJob() {
    const data = JSON.parse($("#job-data").textContent);
    const curves = Curves(data.points);
    curves.draw();
    const box = $("#job");
    function show(job) {
      $("#job-status").textContent = job.status;
      $("#job-status").className = "badge " + job.status;
      $("#job-state").textContent = job.state;
      $("#job-phase").textContent = job.phase && !job.terminal ? " · " + job.phase : "";
      const bar = $("#job-progress .bar");
      bar.style.width = job.percent + "%";
      bar.classList.toggle("live", job.status === "running");
      bar.classList.toggle("stopped", job.status === "failed" || job.status === "cancelled");
      $("#job-progress").setAttribute("aria-valuenow", job.percent);
      $("#job-percent").textContent = Math.round(job.percent) + " %";
      $("#job-eta").textContent = job.eta;
      $("#job-step").textContent = job.total_steps ? "step " + job.step + " of " + job.total_steps : "";
      $("#job-duration").textContent = job.duration ? " · " + job.duration : "";
      const error = $("#job-error");
      error.hidden = !(job.status === "failed" && job.error);
      error.textContent = job.error || "";
      $("#job-report").hidden = !(job.status === "accepted" || job.status === "rejected");
      $("#job-retry").hidden = !(job.status === "failed" || job.status === "cancelled");
      $("#cancel-form").hidden = job.terminal;
      if (job.cancel_requested) { $("#cancel-button").disabled = true; $("#cancel-button").textContent = "Cancelling…"; }
      curves.update(job.points);
    }
    if (data.job.terminal) { return; }
    const source = new EventSource(box.dataset.events);
    source.addEventListener("job", (event) => show(JSON.parse(event.data)));
    source.addEventListener("end", (event) => {
      source.close();
      show(JSON.parse(event.data));
      const next = $("#job-report");
      if (!next.hidden) { next.focus(); }
    });
    source.onerror = () => { $("#job-eta").textContent = "reconnecting…"; };
  }

  // --- classifier page: try it ----------------------------------------------------------------
  function setupClassifier() {
    const form = $("#try-form"), zone = $("#dropzone"), file = $("#try-file"), result = $("#result");
    const showName = () => { $("#file-name").textContent = file.files.length ? "Selected: " + file.files[0].name : ""; };
    file.addEventListener("change", showName);
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) { file.files = event.dataTransfer.files; showName(); form.requestSubmit(); }
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const button = $("#try-button");
      button.disabled = true; button.textContent = "Classifying…";
      result.classList.add("busy");
      const data = new FormData(form);
      fetchText(form.action, { method: "POST", body: data })
        .then((html) => { result.innerHTML = html; file.value = ""; showName(); })
        .catch((error) => { result.replaceChildren(problem(error.message)); })
        .finally(() => { button.disabled = false; button.textContent = "Classify"; result.classList.remove("busy"); });
    });
  }

  function setupReport() {
    const data = $("#job-data");
    if (data) { Curves(JSON.parse(data.textContent).points).draw(); }
  }

  const setups = { new: setupNew, job: setupJob, classifier: setupClassifier, report: setupReport };
  if (setups[page]) { setups[page](); }
})();
