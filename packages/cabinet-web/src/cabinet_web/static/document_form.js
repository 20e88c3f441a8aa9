/* The document form, improved when JavaScript runs: lines are added and removed in place, a
 * product picked from the catalogue fills its line, and the totals (per VAT rate, with the VAT in
 * PLN at the NBP rate for EUR/USD) follow every change, computed by the server through
 * POST /api/v1/documents/preview-totals. Without JavaScript the same buttons submit the form.
 * No inline script anywhere: the page's Content-Security-Policy allows only this file. */
(function () {
  "use strict";

  var form = document.getElementById("document-form");
  if (!form) { return; }
  var tbody = form.querySelector("#lines tbody");
  var template = document.getElementById("line-template");
  var totals = document.getElementById("totals");
  var lang = form.getAttribute("data-lang") || "pl";
  var locale = lang === "en" ? "en-GB" : "pl-PL";
  var timer = null;
  var sequence = 0;

  function value(name) {
    var field = form.elements.namedItem(name);
    if (!field) { return ""; }
    if (field.type === "checkbox") { return field.checked ? "true" : ""; }
    return (field.value || "").trim();
  }

  function decimal(text) {
    // People type "1 234,56" as often as "1234.56"; the API wants a plain decimal string.
    var plain = text.replace(/[\s\u00a0]/g, "").replace(",", ".");
    return /^-?\d+(\.\d+)?$/.test(plain) ? plain : null;
  }

  function rows() {
    return tbody ? Array.prototype.slice.call(tbody.querySelectorAll("tr.line")) : [];
  }

  function lineOf(row) {
    function cell(name) {
      var field = row.querySelector("[name$='." + name + "']");
      if (!field) { return ""; }
      if (field.type === "checkbox") { return field.checked; }
      return (field.value || "").trim();
    }
    var price = decimal(cell("unit_price"));
    var quantity = decimal(cell("quantity") || "1");
    if (price === null || quantity === null) { return null; }
    return {
      name: cell("name") || "-",
      quantity: quantity,
      unit: cell("unit") || "szt.",
      unit_price: price,
      vat_rate: cell("vat_rate") || "23",
      annex15: cell("annex15") === true,
      before: cell("before") === true
    };
  }

  function body() {
    var lines = rows().map(lineOf).filter(function (line) { return line !== null; });
    if (!value("issue_date") || lines.length === 0) { return null; }
    var data = {
      doc_type: form.getAttribute("data-doc-type"),
      client_id: parseInt(form.getAttribute("data-client-id"), 10),
      currency: value("currency") || "PLN",
      language: value("language") || "pl",
      issue_date: value("issue_date"),
      lines: lines
    };
    if (value("sale_date")) { data.sale_date = value("sale_date"); }
    return data;
  }

  function money(amount, currency) {
    if (amount === null || amount === undefined) { return ""; }
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency })
        .format(Number(amount));
    } catch (error) {
      return amount + " " + currency;
    }
  }

  function text(tag, content, className, test) {
    var element = document.createElement(tag);
    element.textContent = content;
    if (className) { element.className = className; }
    if (test) { element.setAttribute("data-test", test); }
    return element;
  }

  function label(name) { return totals.getAttribute("data-l-" + name) || name; }

  function show(result) {
    var heading = totals.querySelector("h2");
    while (totals.lastChild) { totals.removeChild(totals.lastChild); }
    if (heading) { totals.appendChild(heading); }
    var foreign = result.vat_pln !== null && result.vat_pln !== undefined;
    var table = document.createElement("table");
    table.className = "list totals-table";
    table.setAttribute("data-test", "totals-table");
    var head = document.createElement("tr");
    ["rate", "net", "vat", "gross"].concat(foreign ? ["vatpln"] : []).forEach(function (key) {
      head.appendChild(text("th", label(key), key === "rate" ? "" : "num"));
    });
    var thead = document.createElement("thead");
    thead.appendChild(head);
    table.appendChild(thead);
    var tbodyTotals = document.createElement("tbody");
    function cell(content, key, className) {
      // data-label names the column when a phone shows each row as a card.
      var td = text("td", content, className);
      td.setAttribute("data-label", label(key));
      return td;
    }
    result.rows.forEach(function (row) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-rate", row.rate);
      tr.appendChild(cell(row.rate, "rate"));
      tr.appendChild(cell(money(row.net, result.currency), "net", "num"));
      tr.appendChild(cell(money(row.vat, result.currency), "vat", "num"));
      tr.appendChild(cell(money(row.gross, result.currency), "gross", "num"));
      if (foreign) { tr.appendChild(cell(money(row.vat_pln, "PLN"), "vatpln", "num")); }
      tbodyTotals.appendChild(tr);
    });
    table.appendChild(tbodyTotals);
    var sum = document.createElement("tr");
    sum.className = "sum";
    sum.appendChild(text("th", label("total")));
    [["net", money(result.net, result.currency)], ["vat", money(result.vat, result.currency)],
     ["gross", money(result.gross, result.currency)]]
      .concat(foreign ? [["vatpln", money(result.vat_pln, "PLN")]] : [])
      .forEach(function (pair) {
        var td = cell(pair[1], pair[0], "num");
        td.setAttribute("data-test", pair[0] === "vatpln" ? "total-vat-pln" : "total-" + pair[0]);
        sum.appendChild(td);
      });
    var tfoot = document.createElement("tfoot");
    tfoot.appendChild(sum);
    table.appendChild(tfoot);
    totals.appendChild(table);
    var due = text("p", label("due") + ": ", "total-due");
    due.appendChild(text("strong", money(result.gross, result.currency), "", "total-due"));
    totals.appendChild(due);
    var rate = result.exchange_rate;
    if (rate) {
      var parts = rate.effective_date.split("-");
      var line = label("ratetext")
        .replace("{currency}", rate.currency)
        .replace("{rate}", Number(rate.rate).toLocaleString(locale, { minimumFractionDigits: 4 }))
        .replace("{date}", parts[2] + "." + parts[1] + "." + parts[0])
        .replace("{table}", rate.table_no);
      totals.appendChild(text("p", line, "meta", "exchange-rate"));
    }
  }

  function refresh() {
    if (!totals) { return; }
    var data = body();
    if (data === null) { return; }
    var token = form.elements.namedItem("csrf_token");
    var mine = ++sequence;
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": token ? token.value : ""
      },
      body: JSON.stringify(data)
    }).then(function (response) {
      if (!response.ok) { return null; }
      return response.json();
    }).then(function (result) {
      // An older answer arriving after a newer one must not overwrite it.
      if (result && mine === sequence) { show(result); }
    }).catch(function () { /* the "Recalculate" button still works */ });
  }

  function later() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(refresh, 300);
  }

  function nextIndex() {
    var highest = -1;
    rows().forEach(function (row) {
      var index = parseInt(row.getAttribute("data-index"), 10);
      if (!isNaN(index) && index > highest) { highest = index; }
    });
    return highest + 1;
  }

  function addLine() {
    if (!template || !tbody) { return; }
    var html = template.innerHTML.replace(/__index__/g, String(nextIndex()));
    var holder = document.createElement("tbody");
    holder.innerHTML = html;
    var row = holder.querySelector("tr");
    if (row) {
      tbody.appendChild(row);
      var first = row.querySelector("input[name$='.name']");
      if (first) { first.focus(); }
    }
  }

  function removeLine(row) {
    // The focus was on the removed button: give it to the same button of the line that took
    // its place (or of the one before it), else to "Add line", so a keyboard user stays put.
    var next = row.nextElementSibling || row.previousElementSibling;
    row.parentNode.removeChild(row);
    var target = next ? next.querySelector(".remove-line")
                      : form.querySelector("button[value='add_line']");
    if (target) { target.focus(); }
  }

  function pick(select) {
    var option = select.options[select.selectedIndex];
    var row = select.closest("tr");
    if (!option || !option.value || !row) { return; }
    [["name", "data-name"], ["unit", "data-unit"], ["unit_price", "data-price"],
     ["vat_rate", "data-vat"], ["gtu", "data-gtu"],
     ["procedures", "data-procedures"]].forEach(function (pair) {
      var field = row.querySelector("[name$='." + pair[0] + "']");
      if (field && option.getAttribute(pair[1]) !== null) {
        field.value = option.getAttribute(pair[1]);
      }
    });
  }

  form.addEventListener("click", function (event) {
    var button = event.target.closest("button[name='action']");
    if (!button) { return; }
    if (button.value === "add_line") {
      event.preventDefault();
      addLine();
    } else if (button.value.indexOf("remove:") === 0) {
      event.preventDefault();
      var row = button.closest("tr");
      if (row) { removeLine(row); }
      later();
    } else if (button.value === "recalculate") {
      event.preventDefault();
      refresh();
    }
  });
  var counterparty = form.elements.namedItem("counterparty_id");
  var partyFields = form.querySelector(".party-fields");

  function showParty() {
    // One of the client's own counterparties needs no typing: its saved data is used.
    if (counterparty && partyFields) {
      partyFields.hidden = /^\d+$/.test(counterparty.value);
    }
  }

  form.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("product-pick")) {
      pick(event.target);
    }
    if (event.target === counterparty) { showParty(); }
    later();
  });
  showParty();
  form.addEventListener("input", later);
  if (tbody) { refresh(); }
}());
