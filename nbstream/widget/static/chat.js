// nbstream chat widget: the front end, one hand-written ES module (no build step).
//
// State comes from synced traits (transcript, pending, status, model, models, busy); a
// streaming reply arrives as `delta` custom messages (see nbstream/widget/_protocol.py).
//
// Safety: model text never reaches innerHTML. The Markdown renderer below builds DOM nodes
// and puts all text in Text nodes, so raw HTML in a reply is shown as text, never run.
// Links are kept only for http(s) and mailto URLs.

const SAFE_URL = /^(https?:\/\/|mailto:)/i;
const LIST_ITEM = /^(\s*)([-*+]|\d{1,9}[.)])\s+(.*)$/;
const TABLE_RULE = /^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$/;
const INLINE = new RegExp(
  [
    "(`+)([\\s\\S]*?[^`])\\1(?!`)", // 1-2 code span
    "\\*\\*(?=\\S)([\\s\\S]*?\\S)\\*\\*", // 3 bold
    "(?<!\\w)__(?=\\S)([\\s\\S]*?\\S)__(?!\\w)", // 4 bold
    "\\*(?=[^\\s*])([\\s\\S]*?[^\\s*])\\*", // 5 italic
    "(?<!\\w)_(?=[^\\s_])([\\s\\S]*?[^\\s_])_(?!\\w)", // 6 italic
    "~~(?=\\S)([\\s\\S]*?\\S)~~", // 7 strikethrough
    "\\[([^\\]\\n]+)\\]\\(([^()\\s]+)\\)", // 8-9 link
  ].join("|"),
  "g",
);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/** Inline Markdown into `parent`: text is appended as Text nodes only. */
function inline(text, parent) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    parent.append(text.slice(last, m.index));
    last = m.index + m[0].length;
    let node;
    if (m[1] !== undefined) {
      node = el("code", null, m[2]);
    } else if (m[3] !== undefined || m[4] !== undefined) {
      node = el("strong");
      inline(m[3] ?? m[4], node);
    } else if (m[5] !== undefined || m[6] !== undefined) {
      node = el("em");
      inline(m[5] ?? m[6], node);
    } else if (m[7] !== undefined) {
      node = el("del");
      inline(m[7], node);
    } else if (SAFE_URL.test(m[9])) {
      node = el("a");
      node.href = m[9];
      node.target = "_blank";
      node.rel = "noopener noreferrer";
      inline(m[8], node);
    } else {
      node = document.createTextNode(m[0]); // javascript: and other schemes stay text
    }
    parent.append(node);
  }
  parent.append(text.slice(last));
}

function cells(line) {
  return line.trim().replace(/^\|/, "").replace(/\|$/, "").split("|").map((c) => c.trim());
}

function table(lines, i, out) {
  const node = el("table");
  const head = node.createTHead().insertRow();
  for (const cell of cells(lines[i])) inline(cell, head.appendChild(el("th")));
  const body = node.createTBody();
  for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim(); i++) {
    const row = body.insertRow();
    for (const cell of cells(lines[i])) inline(cell, row.insertCell());
  }
  out.append(node);
  return i;
}

function list(lines, i, out) {
  const first = lines[i].match(LIST_ITEM);
  const indent = first[1].length;
  const ordered = /\d/.test(first[2]);
  const node = el(ordered ? "ol" : "ul");
  if (ordered && parseInt(first[2], 10) !== 1) node.start = parseInt(first[2], 10);
  let item = null;
  while (i < lines.length) {
    const m = lines[i].match(LIST_ITEM);
    if (m && item && m[1].length > indent + 1) {
      i = list(lines, i, item);
    } else if (m && m[1].length >= indent - 1 && /\d/.test(m[2]) === ordered) {
      item = node.appendChild(el("li"));
      inline(m[3], item);
      i++;
    } else if (!m && item && /^\s+\S/.test(lines[i])) {
      item.append("\n");
      inline(lines[i].trim(), item);
      i++;
    } else {
      break;
    }
  }
  out.append(node);
  return i;
}

/** A subset of Markdown (headings, lists, emphasis, code, quotes, tables) as DOM nodes. */
export function renderMarkdown(source) {
  const out = document.createDocumentFragment();
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  let para = [];
  const flush = () => {
    if (para.length) inline(para.join("\n"), out.appendChild(el("p")));
    para = [];
  };
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s{0,3}(`{3,}|~{3,})\s*([^\s`]*)/);
    let m;
    if (fence) {
      flush();
      const code = [];
      for (i++; i < lines.length && !lines[i].trim().startsWith(fence[1]); i++) code.push(lines[i]);
      i++; // the closing fence; an unclosed block (still streaming) runs to the end
      const pre = out.appendChild(el("pre", "nbs-code"));
      if (fence[2]) pre.dataset.lang = fence[2];
      pre.append(el("code", null, code.join("\n")));
    } else if (!line.trim()) {
      flush();
      i++;
    } else if ((m = line.match(/^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/))) {
      flush();
      inline(m[2], out.appendChild(el(`h${m[1].length}`)));
      i++;
    } else if (/^\s{0,3}([-*_])(\s*\1){2,}\s*$/.test(line)) {
      flush();
      out.append(el("hr"));
      i++;
    } else if (/^\s{0,3}>/.test(line)) {
      flush();
      const quoted = [];
      for (; i < lines.length && /^\s{0,3}>/.test(lines[i]); i++) {
        quoted.push(lines[i].replace(/^\s{0,3}>\s?/, ""));
      }
      out.appendChild(el("blockquote")).append(renderMarkdown(quoted.join("\n")));
    } else if (LIST_ITEM.test(line)) {
      flush();
      i = list(lines, i, out);
    } else if (line.includes("|") && TABLE_RULE.test(lines[i + 1] ?? "")) {
      flush();
      i = table(lines, i, out);
    } else {
      para.push(line);
      i++;
    }
  }
  flush();
  return out;
}

function prettyArgs(args) {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

function toolCard(card, streaming) {
  const box = el("details", "nbs-tool");
  box.open = true;
  box.dataset.state = card.result == null ? "running" : card.ok === false ? "failed" : "ok";
  const summary = box.appendChild(el("summary"));
  summary.append(el("span", "nbs-tool-kind", "tool"), el("span", "nbs-tool-name", card.name));
  const state = { running: "running…", ok: "✓ done", failed: "✗ failed" }[box.dataset.state];
  summary.append(el("span", "nbs-tool-state", state));
  box.append(el("div", "nbs-tool-label", "arguments"));
  box.append(el("pre", "nbs-tool-args", streaming ? card.args : prettyArgs(card.args)));
  if (card.result != null) {
    box.append(el("div", "nbs-tool-label", "result"));
    box.append(el("pre", "nbs-tool-result", card.result));
  }
  return box;
}

/** Where the streaming cursor goes: the end of the last paragraph, item or code block. */
function cursorHost(node) {
  const last = node.lastElementChild;
  if (!last) return node;
  if (/^(UL|OL|BLOCKQUOTE|PRE)$/.test(last.tagName)) return cursorHost(last);
  if (last.tagName === "LI") {
    return /^(UL|OL)$/.test(last.lastElementChild?.tagName ?? "") ? cursorHost(last) : last;
  }
  return /^(P|H\d|CODE)$/.test(last.tagName) ? last : node;
}

function messageNode(entry, live) {
  const node = el("div", `nbs-msg nbs-${entry.role}`);
  node.dataset.role = entry.role;
  node.dataset.id = entry.id;
  if (entry.role === "user") {
    node.append(el("div", "nbs-text", entry.content));
    return node;
  }
  if (live) node.classList.add("nbs-live");
  const tools = node.appendChild(el("div", "nbs-tools"));
  for (const card of entry.tools || []) tools.append(toolCard(card, live));
  const body = node.appendChild(el("div", "nbs-md"));
  body.append(renderMarkdown(entry.content || ""));
  if (live) cursorHost(body).append(el("span", "nbs-cursor", "▍"));
  if (entry.interrupted) node.append(el("div", "nbs-badge nbs-stopped", "■ stopped: partial reply"));
  if (entry.error) node.append(el("div", "nbs-badge nbs-error", `⚠ ${entry.error}`));
  if (entry.footer) node.append(el("div", "nbs-footer", entry.footer));
  return node;
}

function fmt(value, digits, unit) {
  return value == null ? null : `${Number(value).toFixed(digits)}${unit}`;
}

function render({ model, el: root }) {
  const box = root.appendChild(el("div", "nbs-chat"));
  const header = box.appendChild(el("div", "nbs-header"));
  header.append(el("span", "nbs-title", "nbstream chat"));
  const select = header.appendChild(el("select", "nbs-model"));
  select.title = "model";
  const newChat = header.appendChild(el("button", "nbs-new", "New chat"));
  const transcriptEl = box.appendChild(el("div", "nbs-transcript"));
  const statusEl = box.appendChild(el("div", "nbs-status"));
  const row = box.appendChild(el("div", "nbs-input-row"));
  const input = row.appendChild(el("textarea", "nbs-input"));
  input.rows = 2;
  input.setAttribute("data-lm-suppress-shortcuts", "true");
  const sendButton = row.appendChild(el("button", "nbs-send", "Send"));
  const stopButton = row.appendChild(el("button", "nbs-stop", "Stop"));

  const nodes = new Map(); // entry id -> rendered node (committed entries never change)
  let live = null; // {id, text, tools: Map, n, ttft, tps, usage, retry}
  let frame = 0;

  function reconcile() {
    const pending = model.get("pending") || {};
    if (!pending.id) live = null;
    else if (!live || live.id !== pending.id) live = { id: pending.id, text: "", tools: new Map() };
    const wanted = [];
    for (const entry of model.get("transcript") || []) {
      if (!nodes.has(entry.id)) nodes.set(entry.id, messageNode(entry, false));
      wanted.push(nodes.get(entry.id));
    }
    if (pending.user) {
      const key = pending.user.id;
      if (!nodes.has(key)) nodes.set(key, messageNode(pending.user, false));
      wanted.push(nodes.get(key));
    }
    const liveNode = live ? liveBubble() : null;
    if (liveNode) wanted.push(liveNode);
    const stick = nearBottom();
    wanted.forEach((node, index) => {
      if (transcriptEl.children[index] !== node) {
        transcriptEl.insertBefore(node, transcriptEl.children[index] ?? null);
      }
    });
    while (transcriptEl.children.length > wanted.length) transcriptEl.lastChild.remove();
    const keep = new Set(wanted);
    for (const [key, node] of nodes) if (!keep.has(node)) nodes.delete(key);
    if (stick) transcriptEl.scrollTop = transcriptEl.scrollHeight;
    renderStatus();
  }

  function liveBubble() {
    const entry = { id: live.id, role: "assistant", content: live.text };
    entry.tools = [...live.tools.values()];
    const node = messageNode(entry, true);
    live.node?.replaceWith(node);
    live.node = node;
    return node;
  }

  function nearBottom() {
    return transcriptEl.scrollHeight - transcriptEl.scrollTop - transcriptEl.clientHeight < 40;
  }

  function scheduleLive() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (!live) return;
      const stick = nearBottom();
      liveBubble();
      if (stick) transcriptEl.scrollTop = transcriptEl.scrollHeight;
      renderStatus();
    });
  }

  function onMessage(msg) {
    if (msg?.kind !== "delta" && msg?.kind !== "snapshot") return;
    const pending = model.get("pending") || {};
    if (msg.id !== pending.id) return;
    if (!live || live.id !== msg.id) live = { id: msg.id, text: "", tools: new Map() };
    const whole = msg.kind === "snapshot" ? msg : msg.replace;
    if (whole) {
      live.text = whole.text;
      live.tools = new Map((whole.tools || []).map((card) => [card.id, { ...card }]));
    } else {
      live.text += msg.text || "";
      for (const change of msg.tools || []) {
        const card = live.tools.get(change.id) ?? { id: change.id, name: "", args: "" };
        if (change.name) card.name = change.name;
        if (change.args) card.args += change.args;
        if ("result" in change) Object.assign(card, { result: change.result, ok: change.ok });
        live.tools.set(change.id, card);
      }
    }
    for (const key of ["n", "ttft", "tps", "usage", "retry"]) if (key in msg) live[key] = msg[key];
    scheduleLive();
  }

  function renderStatus() {
    const status = model.get("status") || {};
    const busy = model.get("busy");
    let parts;
    if (busy) {
      const tokens = live?.n ? `${live.n} tokens` : "waiting for the first token…";
      const ttft = fmt(live?.ttft, 2, " s");
      parts = ["streaming", status.model, ttft && `TTFT ${ttft}`, fmt(live?.tps, 1, " tok/s"), tokens];
      if (live?.usage?.total_tokens) parts.push(`usage ${live.usage.total_tokens}`);
    } else if (status.state === "error") {
      parts = [`error: ${status.error}`];
    } else if (status.state === "stopped") {
      parts = ["stopped", status.footer];
    } else {
      parts = status.footer ? ["done", status.footer] : [`ready · ${model.get("model")}`];
    }
    statusEl.dataset.state = busy ? "streaming" : status.state || "idle";
    statusEl.replaceChildren(el("span", "nbs-dot"), parts.filter(Boolean).join(" · "));
    if (busy && live?.retry) statusEl.append(el("span", "nbs-retry", ` · ${live.retry}`));
    sendButton.disabled = busy;
    stopButton.disabled = !busy;
  }

  function renderModels() {
    const current = model.get("model");
    const names = [...new Set([current, ...(model.get("models") || [])])].filter(Boolean);
    select.replaceChildren(...names.map((name) => el("option", null, name)));
    select.value = current;
  }

  function send() {
    const text = input.value.trim();
    if (!text || model.get("busy")) return;
    model.send({ kind: "send", text });
    input.value = "";
    grow();
  }

  function grow() {
    input.rows = Math.min(8, Math.max(2, input.value.split("\n").length));
  }

  function onKey(event) {
    event.stopPropagation(); // typing here is not a notebook shortcut
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  }

  const onSelect = () => {
    model.set("model", select.value);
    model.save_changes();
  };
  const onStop = () => model.send({ kind: "stop" });
  const onNew = () => model.send({ kind: "new" });
  input.placeholder = model.get("placeholder") || "";
  input.addEventListener("keydown", onKey);
  input.addEventListener("input", grow);
  sendButton.addEventListener("click", send);
  stopButton.addEventListener("click", onStop);
  newChat.addEventListener("click", onNew);
  select.addEventListener("change", onSelect);
  const traits = {
    "change:transcript": reconcile,
    "change:pending": reconcile,
    "change:status": renderStatus,
    "change:busy": renderStatus,
    "change:model": renderModels,
    "change:models": renderModels,
    "msg:custom": onMessage,
  };
  for (const [name, handler] of Object.entries(traits)) model.on(name, handler);
  renderModels();
  reconcile();
  try {
    model.send({ kind: "hello" }); // a view rendered mid-stream asks for the reply so far
  } catch {
    // no kernel (a reopened notebook): the committed transcript is all there is
  }

  return () => {
    for (const [name, handler] of Object.entries(traits)) model.off(name, handler);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default { render };
