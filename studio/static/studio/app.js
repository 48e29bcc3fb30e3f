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
