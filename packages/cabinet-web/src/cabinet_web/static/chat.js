// The live chat. A conversation page listens to /chat/<client>/events (Server-Sent Events) and
// appends each message once; the browser's EventSource reconnects by itself and sends
// Last-Event-ID, so the server resumes after the last message shown. "Older messages" loads
// the previous page from /api/v1/chat/<client>/messages?before=<id> in place, and the form is
// sent through the API so the page is not reloaded (with a file it posts as a form). The
// inbox listens to /chat/events and moves the changed conversation to the top with its unread
// count. Text is inserted as text, never as HTML. Without this script both pages work by reload.
(function () {
  "use strict";

  function when(iso) {
    if (!iso) { return ""; }
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined, {
      day: "2-digit", month: "2-digit", year: "numeric", hour: "2-digit", minute: "2-digit"
    });
  }

  function conversationPage(list) {
    var client = list.dataset.client;
    var me = list.dataset.me;
    var names = {};
    var status = document.getElementById("chat-status");

    function label(message) {
      if (message.author) { return message.author; }
      if (String(message.author_id) === me) { return list.dataset.you; }
      return names[String(message.author_id)] || list.dataset.firm;
    }

    function item(message) {
      var li = document.createElement("li");
      li.className = "chat-message" + (String(message.author_id) === me ? " mine" : "");
      li.dataset.id = message.id;
      var meta = document.createElement("p");
      meta.className = "meta";
      var author = document.createElement("span");
      author.className = "author";
      author.textContent = label(message);
      var time = document.createElement("time");
      time.dateTime = message.created_at || "";
      time.textContent = when(message.created_at);
      meta.appendChild(author);
      meta.appendChild(document.createTextNode(" · "));
      meta.appendChild(time);
      var body = document.createElement("p");
      body.className = "body";
      body.textContent = message.body;
      li.appendChild(meta);
      if (message.body) { li.appendChild(body); }
      (message.attachments || []).forEach(function (file) {
        var line = document.createElement("p");
        line.className = "file";
        var link = document.createElement("a");
        link.href = "/chat/files/" + Number(file.id);
        link.target = "_blank";
        link.rel = "noopener";
        link.textContent = file.filename;
        line.appendChild(link);
        line.appendChild(document.createTextNode(" (" + Math.round(file.size / 1024) + " KB)"));
        li.appendChild(line);
      });
      return li;
    }

    function shown(id) {
      return list.querySelector('li[data-id="' + String(Number(id)) + '"]') !== null;
    }

    function append(message) {
      if (shown(message.id)) { return; }
      list.appendChild(item(message));
      var empty = document.getElementById("chat-empty");
      if (empty) { empty.remove(); }
      list.lastChild.scrollIntoView({ block: "nearest" });
    }

    if (list.dataset.live === "yes" && window.EventSource) {
      var source = new EventSource("/chat/" + client + "/events?after=" + list.dataset.after);
      source.addEventListener("message", function (event) { append(JSON.parse(event.data)); });
      source.addEventListener("open", function () {
        if (status) { status.textContent = status.dataset.liveText; }
      });
      source.addEventListener("error", function () {
        if (status) { status.textContent = status.dataset.offlineText; }
      });
      window.addEventListener("pagehide", function () { source.close(); });
    }

    var older = document.getElementById("chat-older");
    if (older && window.fetch) {
      older.addEventListener("click", function (event) {
        event.preventDefault();
        fetch("/api/v1/chat/" + client + "/messages?before=" + older.dataset.before, {
          credentials: "same-origin", headers: { "Accept": "application/json" }
        }).then(function (response) {
          if (!response.ok) { throw new Error(String(response.status)); }
          return response.json();
        }).then(function (page) {
          Object.keys(page.authors || {}).forEach(function (key) { names[key] = page.authors[key]; });
          var first = list.firstChild;
          page.messages.forEach(function (message) {
            if (!shown(message.id)) { list.insertBefore(item(message), first); }
          });
          if (page.has_more && page.messages.length) {
            older.dataset.before = page.messages[0].id;
            older.href = "/chat/" + client + "?before=" + page.messages[0].id;
          } else {
            older.remove();
          }
        }).catch(function () { window.location.href = older.href; });
      });
    }

    var form = document.getElementById("latest");
    if (form && window.fetch && list.dataset.live === "yes") {
      form.addEventListener("submit", function (event) {
        var chosen = form.querySelector("input[type=file]");
        if (chosen && chosen.files && chosen.files.length) { return; }  // a file: the form posts
        event.preventDefault();
        var field = form.querySelector("textarea[name=body]");
        var error = document.getElementById("body-error");
        var button = form.querySelector("button[type=submit]");
        button.disabled = true;
        fetch("/api/v1/chat/" + client + "/messages", {
          method: "POST",
          credentials: "same-origin",
          headers: {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-CSRF-Token": form.querySelector("input[name=csrf_token]").value
          },
          body: JSON.stringify({ body: field.value })
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (result.ok) {
            append(result.data);
            field.value = "";
            field.removeAttribute("aria-invalid");
            error.hidden = true;
            return;
          }
          var problems = (result.data.errors || []).filter(function (e) { return e.field === "body"; });
          error.textContent = problems.length ? problems[0].message : (result.data.detail || list.dataset.error);
          error.hidden = false;
          field.setAttribute("aria-invalid", "true");
          field.setAttribute("aria-describedby", "body-error");
        }).catch(function () {
          error.textContent = list.dataset.error;
          error.hidden = false;
        }).then(function () { button.disabled = false; field.focus(); });
      });
    }
  }

  function inboxPage(table) {
    if (!window.EventSource) { return; }
    var body = table.tBodies[0];
    var source = new EventSource("/chat/events");
    source.addEventListener("conversation", function (event) {
      var row = JSON.parse(event.data);
      var tr = body.querySelector('tr[data-client="' + String(Number(row.client_id)) + '"]');
      if (!tr) { return; }
      var last = tr.querySelector("td.last");
      last.textContent = "";
      if (row.last_message) {
        var text = document.createElement("span");
        text.className = "body";
        var words = row.last_message.body;
        text.textContent = words.length > 80 ? words.slice(0, 77) + "..." : words;
        var time = document.createElement("time");
        time.dateTime = row.last_message.created_at || "";
        time.textContent = when(row.last_message.created_at);
        last.appendChild(text);
        last.appendChild(document.createTextNode(" · "));
        last.appendChild(time);
      }
      var count = tr.querySelector("td.count");
      count.textContent = "";
      if (row.unread) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(row.unread);
        count.appendChild(badge);
      }
      tr.classList.toggle("unread", row.unread > 0);
      body.insertBefore(tr, body.firstChild);
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  var list = document.getElementById("chat-messages");
  if (list) { conversationPage(list); }
  var inbox = document.getElementById("chat-inbox");
  if (inbox) { inboxPage(inbox); }
}());
