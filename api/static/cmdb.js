// Kontur CMDB forms: suggest natural keys for reference fields from the CMDB's own API.
// A reference input carries data-ref (the kind) and data-ref-key (its key column); typing fills
// its <datalist> with matching records (GET only: nothing is changed, no CSRF token needed).
(function () {
  "use strict";
  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var kind = input.dataset.ref;
    var keyName = input.dataset.refKey;
    var timer = null;
    var lastQuery = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var q = input.value.trim();
        if (q === lastQuery || !list) { return; }
        lastQuery = q;
        var url = "/api/v1/" + encodeURIComponent(kind) + "?per_page=20&q=" + encodeURIComponent(q);
        fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { items: [] }; })
          .then(function (page) {
            list.textContent = "";
            (page.items || []).forEach(function (item) {
              var option = document.createElement("option");
              option.value = String(item[keyName]);
              var name = item.name || item.short_name || item.hostname || item.title || "";
              if (name && name !== option.value) { option.label = name; }
              list.appendChild(option);
            });
          })
          .catch(function () { /* suggestions are a convenience: typing still works */ });
      }, 250);
    });
  }
  document.querySelectorAll("input[data-ref]").forEach(attach);
})();
