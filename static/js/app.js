/* MFA Helpdesk's few progressive enhancements. A static file, never inline (the
   Content-Security-Policy forbids inline script); every page works without it. */
(function () {
  "use strict";

  // Copy buttons (bypass codes): shown only where the clipboard can be written.
  function revealCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll("button[data-copy][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) return;
    navigator.clipboard.writeText(button.dataset.copy).then(function () {
      button.textContent = "Copied";
    });
  });

  // Forms that change something for everyone (retiring a playbook version) ask first. The
  // question is the form's data-confirm; without script the form submits as it is.
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () { revealCopyButtons(document); });
  document.addEventListener("htmx:afterSettle", function (event) { revealCopyButtons(event.target); });
})();
