// Draws every <canvas data-chart="..."> from the JSON that the page embeds with json_script.
// Charts are declared in templates and drawn here, so pages carry no inline scripts.
(function () {
  "use strict";

  const palette = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#8b5cf6"];

  const builders = {
    "datanet-bars": (data) => ({
      type: "bar",
      data: {
        labels: data.labels,
        datasets: [
          { label: "Approved rows", data: data.rows, backgroundColor: palette[0], yAxisID: "rows" },
          { label: "Contributors", data: data.contributors, backgroundColor: palette[2], yAxisID: "people" },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          rows: { position: "left", beginAtZero: true, title: { display: true, text: "rows" } },
          people: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false },
                    title: { display: true, text: "contributors" } },
        },
      },
    }),
    histogram: (data) => ({
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "rows", data: data.counts, backgroundColor: palette[1] }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { x: { title: { display: true, text: "tokens per row" } }, y: { beginAtZero: true } } },
    }),
    timeline: (data) => ({
      type: "line",
      data: { labels: data.labels, datasets: [{ label: "rows contributed", data: data.counts, borderColor: palette[0],
              backgroundColor: palette[0], tension: 0.2, fill: false }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true } } },
    }),
    "datanet-earnings": (data) => ({
      type: "bar",
      data: { labels: data.labels, datasets: [{ label: "OPEN earned", data: data.values, backgroundColor: palette[2] }] },
      options: { responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } },
                 scales: { y: { beginAtZero: true, title: { display: true, text: "OPEN" },
                                ticks: { callback: (value) => Number(value).toPrecision(2) } } } },
    }),
  };

  function draw(root) {
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      if (canvas.dataset.drawn) return;
      const build = builders[canvas.dataset.chart];
      const source = document.getElementById(canvas.dataset.source);
      if (!build || !source || typeof Chart === "undefined") return;
      new Chart(canvas, build(JSON.parse(source.textContent)));
      canvas.dataset.drawn = "1";
    });
  }

  window.ModelFactoryCharts = { builders, draw };
  document.addEventListener("DOMContentLoaded", () => draw(document));
  document.addEventListener("htmx:afterSwap", (event) => draw(event.target));
})();
