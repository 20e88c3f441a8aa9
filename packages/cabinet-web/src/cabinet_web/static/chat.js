// Polls /api/v1/chat for messages newer than the last one shown and appends them, so a
// conversation stays current without reloading. Text is inserted as text, never as HTML.
(function () {
  "use strict";
  var list = document.getElementById("chat-messages");
  if (!list || !window.fetch) { return; }
  var client = list.dataset.client;
  var me = list.dataset.me;
  var names = JSON.parse(list.dataset.names || "{}");
  var after = Number(list.dataset.after || 0);

  function author(message) {
    if (String(message.author_id) === me) { return list.dataset.you; }
    return names[String(message.author_id)] || list.dataset.firm;
  }

  function append(message) {
    var item = document.createElement("li");
    item.className = "chat-message" + (String(message.author_id) === me ? " mine" : "");
    item.dataset.id = message.id;
    var meta = document.createElement("p");
    meta.className = "meta";
    var when = new Date(message.created_at).toLocaleString(document.documentElement.lang || undefined, {
      day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit"
    });
    meta.textContent = author(message) + " · " + when;
    var body = document.createElement("p");
    body.className = "body";
    body.textContent = message.body;
    item.appendChild(meta);
    item.appendChild(body);
    list.appendChild(item);
    var empty = document.getElementById("chat-empty");
    if (empty) { empty.remove(); }
  }

  function poll() {
    fetch("/api/v1/chat?client_id=" + client + "&after_id=" + after, {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : [];
    }).then(function (messages) {
      messages.forEach(function (message) {
        if (message.id > after) { append(message); after = message.id; }
      });
    }).catch(function () { /* offline for a moment: the next poll tries again */ });
  }

  window.setInterval(poll, 10000);
}());
