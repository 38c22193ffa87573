// The playground page: send a prompt, stream each answer over server-sent events, stop, copy as code.
// Answers stream from /playground/stream/<id>/ (event: token | done | error); Stop asks the server to
// cancel, and the stream then ends with a `done` whose status is "stopped", so the partial text and its
// receipt are kept exactly like a finished answer's.
(() => {
  "use strict";
  const form = document.getElementById("chat-form");
  if (!form) return;
  const log = document.getElementById("chat-log");
  const errorBox = document.getElementById("chat-error");
  const sendButton = form.querySelector("[data-action=send]");
  const stopButton = form.querySelector("[data-action=stop]");
  const csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
  const live = new Map(); // message id → {source, article}
  // Every prompt with each model's answer text, as the server keeps them: what "Copy as" sends.
  const thread = JSON.parse(document.getElementById("conversation-thread").textContent);
  const STATUS_LABEL = { streaming: "Streaming…", done: "Done", stopped: "Stopped", failed: "Failed" };

  function setBusy() {
    stopButton.disabled = live.size === 0;
    sendButton.disabled = live.size > 0;
  }

  function setStatus(article, status) {
    article.dataset.status = status;
    article.querySelector("[data-testid=answer-status]").textContent = STATUS_LABEL[status] || status;
  }

  // A refusal for want of funds carries `deposit_url`: the message then ends with a link to deposit.
  function fillError(box, message, depositUrl) {
    box.textContent = message;
    if (depositUrl) {
      const link = document.createElement("a");
      link.href = depositUrl;
      link.textContent = "Deposit OPEN";
      link.dataset.testid = "deposit-link";
      box.append(" ", link);
    }
    box.hidden = false;
  }

  function showError(article, message, depositUrl) {
    fillError(article.querySelector("[data-role=error]"), message, depositUrl);
  }

  function loadAttribution(article, receiptId) {
    const url = form.dataset.attributionUrl.replace("00000000-0000-0000-0000-000000000000", receiptId);
    htmx.ajax("GET", url, { target: article.querySelector("[data-role=attribution]"), swap: "innerHTML" });
  }

  function finish(id, status) {
    const entry = live.get(id);
    if (!entry) return;
    entry.source.close();
    live.delete(id);
    setStatus(entry.article, status);
    setBusy();
  }

  function contextChanged() {
    htmx.trigger(document.body, "context-changed");
  }

  function streamAnswer(article, turn) {
    const id = article.dataset.messageId;
    const text = article.querySelector("[data-role=text]");
    const model = article.querySelector("[data-role=model]").textContent;
    const source = new EventSource(article.dataset.streamUrl);
    let raw = text.textContent;
    live.set(id, { source, article });
    setStatus(article, "streaming");
    setBusy();
    source.addEventListener("token", (event) => {
      raw += JSON.parse(event.data).text;
      text.textContent = raw; // plain text while it streams; Markdown once the server has all of it
    });
    source.addEventListener("done", (event) => {
      const data = JSON.parse(event.data);
      if (raw) {
        text.innerHTML = data.html; // rendered and escaped by the server (answer_markdown.py)
        text.classList.add("pg-markdown");
        if (turn) turn.answers[model] = raw;
      }
      finish(id, data.status);
      if (data.receipt_id) loadAttribution(article, data.receipt_id);
      contextChanged();
    });
    source.addEventListener("error", (event) => {
      // Our own `event: error` frames carry data; the browser's connection errors do not.
      const data = event.data ? JSON.parse(event.data) : { message: "The connection to the server was lost." };
      showError(article, data.message, data.deposit_url);
      finish(id, "failed");
    });
  }

  function answerElement(answer) {
    const article = document.getElementById("answer-template").content.firstElementChild.cloneNode(true);
    article.dataset.messageId = answer.message_id;
    article.dataset.streamUrl = answer.stream_url;
    article.dataset.stopUrl = answer.stop_url;
    article.querySelector("[data-role=model]").textContent = answer.model;
    return article;
  }

  function turnElement(payload) {
    const turn = document.getElementById("turn-template").content.firstElementChild.cloneNode(true);
    turn.querySelector("[data-role=prompt]").textContent = payload.prompt.content;
    const answers = turn.querySelector("[data-role=answers]");
    answers.classList.toggle("side-by-side", payload.answers.length > 1);
    const articles = payload.answers.map(answerElement);
    articles.forEach((article) => answers.appendChild(article));
    return { turn, articles };
  }

  async function refreshSidebar(conversationId) {
    const list = document.getElementById("conversation-list");
    await htmx.ajax("GET", `${list.dataset.url}?current=${conversationId}`, { target: list, swap: "innerHTML" });
  }

  async function send(event) {
    event.preventDefault();
    if (live.size > 0) return;
    errorBox.hidden = true;
    const body = new FormData(form);
    const response = await fetch(form.action, {
      method: "POST",
      body,
      headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
    });
    const payload = await response.json();
    if (!response.ok) {
      fillError(errorBox, payload.error || `The message was not sent (HTTP ${response.status}).`, payload.deposit_url);
      return;
    }
    const conversationField = form.elements.conversation;
    if (conversationField.value !== String(payload.conversation_id)) {
      conversationField.value = payload.conversation_id;
      history.replaceState(null, "", payload.conversation_url);
    }
    refreshSidebar(payload.conversation_id); // this conversation is now the newest: it moves to the top
    log.querySelector(".pg-hint")?.remove();
    const { turn, articles } = turnElement(payload);
    log.appendChild(turn);
    form.elements.message.value = "";
    const entry = { prompt: payload.prompt.content, answers: {} };
    thread.push(entry);
    articles.forEach((article) => streamAnswer(article, entry));
    turn.scrollIntoView({ block: "nearest" });
    contextChanged();
  }

  async function stopAll() {
    stopButton.disabled = true;
    await Promise.all(
      [...live.values()].map(({ article }) =>
        fetch(article.dataset.stopUrl, { method: "POST", headers: { "X-CSRFToken": csrfToken } }),
      ),
    );
    // The streams end themselves with `done` (status "stopped"); close any that did not within 5 s.
    setTimeout(() => [...live.keys()].forEach((id) => finish(id, "stopped")), 5000);
  }

  // --- Copy as curl / Python: the whole conversation, with the form's current settings -------------
  // The chosen model's own thread, as the server sends it (playground.selectors.history_for): every
  // prompt with this model's answer. With a draft in the box, the draft comes last; without one, the
  // request is the one that produced the last answer.
  function currentRequest() {
    const model = form.elements.model.value;
    const messages = [];
    const system = form.elements.system_prompt.value.trim();
    if (system) messages.push({ role: "system", content: system });
    const draft = form.elements.message.value.trim();
    thread.forEach((turn, index) => {
      messages.push({ role: "user", content: turn.prompt });
      const answer = turn.answers[model];
      const last = index === thread.length - 1;
      if (answer && (draft || !last)) messages.push({ role: "assistant", content: answer });
    });
    if (draft || !thread.length) messages.push({ role: "user", content: draft || "Hello!" });
    return {
      model,
      messages,
      temperature: Number(form.elements.temperature.value),
      top_p: Number(form.elements.top_p.value),
      max_tokens: Number(form.elements.max_tokens.value),
    };
  }

  function snippet(kind) {
    const request = currentRequest();
    const url = `${window.location.origin}/v1/chat/completions`;
    if (kind === "curl") {
      const json = JSON.stringify(request, null, 2).replaceAll("'", "'\\''");
      return [
        `curl ${url} \\`,
        '  -H "Authorization: Bearer $MODELFACTORY_API_KEY" \\',
        '  -H "Content-Type: application/json" \\',
        `  -d '${json}'`,
      ].join("\n");
    }
    const messages = JSON.stringify(request.messages, null, 4).replaceAll("\n", "\n    ");
    return [
      "import os",
      "",
      "from openai import OpenAI",
      "",
      `client = OpenAI(base_url="${window.location.origin}/v1", api_key=os.environ["MODELFACTORY_API_KEY"])`,
      "response = client.chat.completions.create(",
      `    model=${JSON.stringify(request.model)},`,
      `    messages=${messages},`,
      `    temperature=${request.temperature},`,
      `    top_p=${request.top_p},`,
      `    max_tokens=${request.max_tokens},`,
      ")",
      "print(response.choices[0].message.content)",
    ].join("\n");
  }

  function copy(kind) {
    const text = snippet(kind);
    const box = form.querySelector(".pg-snippet");
    const status = box.querySelector("[data-role=copy-status]");
    box.querySelector("pre").textContent = text;
    box.hidden = false;
    const label = kind === "curl" ? "curl command" : "Python snippet";
    status.textContent = `The ${label} (the key is read from $MODELFACTORY_API_KEY):`;
    if (!navigator.clipboard) return;
    navigator.clipboard.writeText(text).then(
      () => { status.textContent = `Copied the ${label} to the clipboard.`; },
      () => { status.textContent = `Select and copy the ${label} below.`; },
    );
  }

  form.addEventListener("submit", (event) => {
    send(event).catch((error) => {
      errorBox.textContent = `The message was not sent: ${error.message}`;
      errorBox.hidden = false;
    });
  });
  form.elements.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  stopButton.addEventListener("click", () => { stopAll(); });
  form.querySelectorAll("[data-copy]").forEach((button) =>
    button.addEventListener("click", () => copy(button.dataset.copy)),
  );
  // Answers still pending when the page loads (sent from another tab, or a reload) stream now.
  const turns = log.querySelectorAll("[data-testid=turn]");
  turns.forEach((element, index) => {
    element.querySelectorAll("[data-testid=answer][data-status=pending]").forEach((article) =>
      streamAnswer(article, thread[index]),
    );
  });
})();
