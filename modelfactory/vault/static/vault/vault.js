// Deposits and withdrawals from a browser wallet (EIP-1193 `window.ethereum`), like the wallet proof in
// ledger.js. The server prepared every transaction (to, data) in a json_script; this only asks the wallet
// to send them, one after the other, each once mined, and says what happened. No ABI encoding here.
(function () {
  "use strict";

  async function waitForReceipt(hash) {
    for (let attempt = 0; attempt < 240; attempt += 1) {
      const receipt = await window.ethereum.request({ method: "eth_getTransactionReceipt", params: [hash] });
      if (receipt) return receipt;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    throw new Error(`transaction ${hash} was not mined in 4 minutes`);
  }

  async function onTheRightChain(chainId) {
    const wanted = "0x" + Number(chainId).toString(16);
    const current = await window.ethereum.request({ method: "eth_chainId" });
    if (current.toLowerCase() === wanted) return;
    await window.ethereum.request({ method: "wallet_switchEthereumChain", params: [{ chainId: wanted }] });
  }

  async function send(button, status) {
    const transactions = JSON.parse(document.getElementById(button.dataset.browserTransactions).textContent);
    const [from] = await window.ethereum.request({ method: "eth_requestAccounts" });
    await onTheRightChain(button.dataset.chainId);
    for (const [index, tx] of transactions.entries()) {
      status.textContent = `${index + 1}/${transactions.length} ${tx.label}: confirm in your wallet…`;
      const hash = await window.ethereum.request({
        method: "eth_sendTransaction",
        params: [{ from, to: tx.to, data: tx.data }],
      });
      status.textContent = `${index + 1}/${transactions.length} ${tx.label}: waiting for ${hash}…`;
      const receipt = await waitForReceipt(hash);
      if (receipt.status !== "0x1") throw new Error(`${tx.label} failed on chain (${hash})`);
    }
    status.textContent = "Done on chain. This page shows it once the platform has seen it: reloading…";
    status.dataset.done = "1";
    setTimeout(() => window.location.assign(button.dataset.doneUrl), 2500);
  }

  document.addEventListener("DOMContentLoaded", () => {
    for (const button of document.querySelectorAll("[data-browser-transactions]")) {
      if (!window.ethereum) continue; // stays hidden: the page shows the `cast` commands instead
      button.hidden = false;
      const status = button.closest("section, td").querySelector("[data-transaction-status]");
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await send(button, status);
        } catch (error) {
          status.textContent = `Not sent: ${error.message || error}`;
          button.disabled = false;
        }
      });
    }
  });
})();
