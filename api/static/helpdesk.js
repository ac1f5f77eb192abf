// "Check now" on the FAP card: POST the live check with the session's CSRF token and show
// the per-object result without reloading the page. No inline scripts (CSP).
(function () {
  "use strict";
  var box = document.querySelector(".hd-check");
  var button = document.getElementById("hd-check-button");
  var out = document.getElementById("hd-check-result");
  if (!box || !button || !out) { return; }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var t = box.dataset;

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function stateBadge(state, text) {
    return el("span", text, "state state-" + (state || "unknown"));
  }

  function show(data) {
    out.replaceChildren();
    var head = el("p");
    head.setAttribute("data-testid", "check-summary");
    var reach = data.reachable ? "up" : (data.reachable === false ? "down" : "unknown");
    head.append(stateBadge(reach, data.reachable_label), " ",
      t.textChecked + " " + new Date(data.checked_at).toLocaleTimeString());
    out.append(head);
    var table = el("table");
    var thead = el("thead");
    var row = el("tr");
    [t.textObject, t.textResult, t.textDetail].forEach(function (h) {
      var th = el("th", h); th.scope = "col"; row.append(th);
    });
    thead.append(row);
    table.append(thead);
    var body = el("tbody");
    data.objects.forEach(function (o) {
      var tr = el("tr");
      tr.append(el("td", (o.kind === "device" ? t.textDevice : t.textChannel) + " " + o.key));
      var cell = el("td");
      cell.append(stateBadge(o.state, o.state_label));
      tr.append(cell);
      var detail = [];
      if (o.detail) { detail.push(o.detail); }
      if (o.loss_pct !== null && o.loss_pct !== undefined) { detail.push("loss " + o.loss_pct + " %"); }
      if (o.rtt_ms !== null && o.rtt_ms !== undefined) { detail.push("RTT " + o.rtt_ms + " ms"); }
      tr.append(el("td", detail.join("; ")));
      body.append(tr);
    });
    table.append(body);
    out.append(table);
    out.append(el("p", t.textNotRecorded, "muted"));
  }

  button.addEventListener("click", function () {
    button.disabled = true;
    out.replaceChildren(el("p", t.textChecking));
    fetch(box.dataset.checkUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": meta ? meta.content : "", "Accept": "application/json" }
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error((body && typeof body.detail === "string") ? body.detail : String(response.status));
        });
      }
      return response.json();
    }).then(show).catch(function (err) {
      out.replaceChildren(el("p", t.textFailed + ": " + err.message, "error"));
    }).finally(function () {
      button.disabled = false;
    });
  });
}());
