// Loss and optimiser curves of a fine-tuning job, drawn from the page's JSON and extended live:
// while the job is active, only the steps after the last one shown are fetched every 2 seconds.
(function () {
  "use strict";
  const colors = ["#4f46e5", "#f59e0b", "#10b981", "#ef4444", "#0ea5e9", "#8b5cf6"];

  function lineChart(canvas, datasets, options) {
    return new Chart(canvas, {
      type: "line",
      data: { datasets },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
        scales: { x: { type: "linear", title: { display: true, text: "step" } } } }, options || {}),
    });
  }

  const points = (steps, values) => steps.map((s, i) => ({ x: s, y: values[i] })).filter((p) => p.y !== null);

  function jobPage() {
    const source = document.getElementById("job-curves");
    const live = document.getElementById("job-live");
    if (!source || !live) return;
    const curves = JSON.parse(source.textContent);
    const loss = lineChart(document.querySelector("[data-live-chart=loss]"), [
      { label: "train loss", data: points(curves.step, curves.loss), borderColor: colors[0], pointRadius: 0 },
      { label: "eval loss", data: points(curves.step, curves.eval_loss), borderColor: colors[1], pointRadius: 3 },
    ]);
    const optim = lineChart(document.querySelector("[data-live-chart=optim]"), [
      { label: "learning rate", data: points(curves.step, curves.learning_rate), borderColor: colors[2], pointRadius: 0, yAxisID: "lr" },
      { label: "grad norm", data: points(curves.step, curves.grad_norm), borderColor: colors[3], pointRadius: 0, yAxisID: "gn" },
    ], { scales: { x: { type: "linear" }, lr: { position: "left" }, gn: { position: "right", grid: { drawOnChartArea: false } } } });
    let last = curves.step.length ? curves.step[curves.step.length - 1] : -1;
    let active = live.dataset.active === "1";
    async function poll() {
      if (!active) return;
      try {
        const response = await fetch(`${live.dataset.metricsUrl}?after=${last}`, { headers: { Accept: "application/json" } });
        const body = await response.json();
        const c = body.curves;
        if (c.step.length) {
          loss.data.datasets[0].data.push(...points(c.step, c.loss));
          loss.data.datasets[1].data.push(...points(c.step, c.eval_loss));
          optim.data.datasets[0].data.push(...points(c.step, c.learning_rate));
          optim.data.datasets[1].data.push(...points(c.step, c.grad_norm));
          last = c.step[c.step.length - 1];
          loss.update(); optim.update();
        }
        active = ["queued", "running", "cancelling"].includes(body.status);
      } catch (error) { /* a missed poll is retried on the next tick */ }
      if (active) setTimeout(poll, 2000);
    }
    setTimeout(poll, 2000);
  }

  function comparePage() {
    const source = document.getElementById("compare-curves");
    const canvas = document.querySelector("[data-compare-chart]");
    if (!source || !canvas) return;
    const curves = JSON.parse(source.textContent);
    lineChart(canvas, Object.values(curves).map((c, i) => ({
      label: c.name, data: points(c.step, c.loss), borderColor: colors[i % colors.length], pointRadius: 0,
    })));
  }

  document.addEventListener("DOMContentLoaded", () => { jobPage(); comparePage(); });
})();
