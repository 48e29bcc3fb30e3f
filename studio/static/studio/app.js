// Shared behaviour for every page. No inline scripts: the CSP allows only this origin.
(function () {
  "use strict";

  // Buttons and forms that ask before destroying something: data-confirm="Question?"
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
  document.addEventListener("htmx:confirm", function (event) {
    var question = event.detail.elt.getAttribute("data-confirm");
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });
})();

// Board: "Generate selected" is usable once a panel is ticked.
(function () {
  "use strict";
  function sync() {
    var button = document.querySelector("[data-generate-selected]");
    if (!button) return;
    var ticked = document.querySelectorAll("[data-pick]:checked").length;
    button.disabled = ticked === 0;
    button.textContent = ticked ? "Generate selected (" + ticked + ")" : "Generate selected";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("[data-pick]")) sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
})();
