// The batch prediction page: progress, then the summary and the files, over server-sent events.
"use strict";
(function () {
  const box = document.getElementById("batch");
  if (!box) { return; }
  const $ = (id) => document.getElementById(id);
  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  function showSummary(job) {
    const summary = job.summary;
    $("batch-summary").hidden = !summary;
    if (!summary) { return; }
    $("summary-counts").textContent = summary.total + " documents: " + summary.classified + " classified, " + summary.unreadable + " unreadable.";
    const rows = Object.entries(summary.labels).map(([label, count]) => {
      const tr = document.createElement("tr");
      tr.append(cell(label), cell(String(count)), cell((100 * count / (summary.classified || 1)).toFixed(1) + " %"));
      return tr;
    });
    $("summary-labels").replaceChildren(...rows);
    const unreadable = $("summary-unreadable");
    unreadable.hidden = !summary.unreadable;
    unreadable.querySelector("ul").replaceChildren(...summary.unreadable_documents.map((doc) => {
      const li = document.createElement("li"); li.textContent = doc.path + ": " + doc.error; return li;
    }));
    if (job.artifact_path) { $("summary-artifacts").textContent = "Kept in MLflow with run " + job.run_id + " under " + job.artifact_path + "/."; }
  }
  function show(job) {
    $("batch-status").textContent = job.status;
    $("batch-status").className = "badge " + job.status;
    const bar = box.querySelector(".bar");
    bar.style.width = job.percent + "%";
    bar.classList.toggle("live", job.status === "running");
    bar.classList.toggle("stopped", job.status === "failed" || job.status === "cancelled");
    $("batch-progress").setAttribute("aria-valuenow", job.percent);
    $("batch-done").textContent = job.done + (job.total ? " of " + job.total : "") + " documents";
    $("batch-rate").textContent = job.rate;
    $("batch-eta").textContent = job.eta;
    $("batch-resumed").hidden = !job.resumed;
    $("batch-resumed").textContent = "Resumed after an interruption: " + job.resumed + " documents had been classified before.";
    $("batch-error").hidden = !(job.status === "failed" && job.error);
    $("batch-error").textContent = job.error || "";
    $("batch-files").hidden = job.status !== "completed";
    $("cancel-form").hidden = job.terminal;
    if (job.cancel_requested) { $("cancel-button").disabled = true; $("cancel-button").textContent = "Cancelling…"; }
    showSummary(job);
  }
  if ($("cancel-form").hidden) { return; }
  const source = new EventSource(box.dataset.events);
  source.addEventListener("job", (event) => show(JSON.parse(event.data)));
  source.addEventListener("end", (event) => { source.close(); show(JSON.parse(event.data)); });
  source.onerror = () => { $("batch-eta").textContent = "reconnecting…"; };
})();
