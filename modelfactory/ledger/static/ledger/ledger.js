// Earnings chart builder and browser-wallet signing for the ledger pages (no inline scripts).
(function () {
  "use strict";
  if (window.ModelFactoryCharts) {
    window.ModelFactoryCharts.builders.earnings = (data) => ({
      type: "line",
      data: {
        labels: data.labels,
        datasets: [
          { label: "cumulative OPEN", data: data.cumulative, borderColor: "#4f46e5", backgroundColor: "#4f46e5", tension: 0.2 },
          { label: "OPEN per epoch", data: data.per_epoch, borderColor: "#10b981", backgroundColor: "#10b981", type: "bar" },
        ],
      },
      options: { responsive: true, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
    });
  }
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.querySelector("[data-wallet-sign]");
    if (!button) return;
    if (!window.ethereum) { button.hidden = true; return; }
    button.addEventListener("click", async () => {
      const message = document.getElementById("siwe-message").textContent;
      const address = button.dataset.address;
      const signature = await window.ethereum.request({ method: "personal_sign", params: [message, address] });
      document.querySelector("input[name=signature]").value = signature;
      button.form.submit();
    });
  });
})();
