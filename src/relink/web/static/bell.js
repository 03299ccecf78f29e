// The bell: a red dot and the unread count, kept live by the server-sent-events stream,
// and a dropdown of the newest notifications with their one action each.
(function () {
  "use strict";
  const bell = document.getElementById("bell");
  if (!bell) return;
  const button = bell.querySelector("button.bell-button");
  const panel = bell.querySelector(".bell-panel");
  const list = bell.querySelector(".bell-list");
  const count = bell.querySelector(".bell-count");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function render(data) {
    const unread = data.unread;
    count.textContent = unread > 99 ? "99+" : String(unread);
    bell.classList.toggle("has-unread", unread > 0);
    button.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
    list.replaceChildren();
    if (!data.items.length) {
      const empty = document.createElement("li");
      empty.className = "bell-empty";
      empty.textContent = "No notifications. Every data source is healthy.";
      list.append(empty);
      return;
    }
    for (const item of data.items) list.append(row(item));
  }

  function row(item) {
    const li = document.createElement("li");
    li.className = "bell-item" + (item.read ? "" : " unread") + (item.resolved ? " resolved" : "");
    const when = new Date(item.opened_at).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
    const title = document.createElement("p");
    title.className = "bell-title";
    title.textContent = item.title;
    const meta = document.createElement("p");
    meta.className = "bell-meta";
    meta.textContent = `${when} · ${item.provider_name}` + (item.client_names.length ? ` · ${clients(item.client_names)}` : "");
    const reason = document.createElement("p");
    reason.className = "bell-reason";
    // The provider's hint already says why in plain words; the generic reason is the fallback.
    reason.textContent = item.resolved ? "Resolved." : (item.hint || `${capital(item.reason)}.`);
    li.append(title, meta, reason);
    if (!item.resolved) {
      const form = document.createElement("form");
      form.method = "post";
      form.action = `/notifications/${item.id}/act`;
      const token = document.createElement("input");
      token.type = "hidden";
      token.name = "csrf_token";
      token.value = csrf;
      const act = document.createElement("button");
      act.type = "submit";
      act.className = "primary small";
      act.textContent = item.action.label;
      form.append(token, act);
      li.append(form);
    }
    return li;
  }

  // A grant shared by hundreds of clients must not fill the dropdown with names.
  function clients(names) {
    const shown = names.slice(0, 8).join(", ");
    return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
  }

  function capital(text) { return text ? text[0].toUpperCase() + text.slice(1) : ""; }

  function open(state) {
    panel.hidden = !state;
    button.setAttribute("aria-expanded", String(state));
    if (state) { const first = panel.querySelector("button, a"); if (first) first.focus(); }
  }

  button.addEventListener("click", () => open(panel.hidden));
  document.addEventListener("click", (e) => { if (!bell.contains(e.target)) open(false); });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !panel.hidden) { open(false); button.focus(); }
  });
  bell.querySelector(".bell-read-all").addEventListener("click", async () => {
    await fetch("/api/notifications/read-all", { method: "POST", headers: { "X-CSRF-Token": csrf } });
  });

  const stream = new EventSource("/api/notifications/stream");
  stream.addEventListener("notifications", (e) => render(JSON.parse(e.data)));
})();
