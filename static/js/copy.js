// Copy buttons: a button with data-copy-target="<id>" copies that element's text. The button is
// hidden in the page and shown here, so without JavaScript nobody sees a button that does nothing.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-HTTP pages have no Clipboard API: select a hidden copy and use the older command.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) {
        resolve();
      } else {
        reject(new Error("copy refused"));
      }
    });
  }

  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var target = document.getElementById(button.dataset.copyTarget);
    if (!target) return;
    var status = button.parentElement.querySelector("[data-copy-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      copyText(target.textContent.trim()).then(
        function () {
          button.textContent = "Copied";
          if (status) status.textContent = "The token is on your clipboard.";
        },
        function () {
          if (status) status.textContent = "Could not copy: select the token and copy it yourself.";
        }
      );
    });
  });
})();
