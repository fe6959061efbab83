// Training runs in the admin: while a run is queued or running, refresh the page every few
// seconds so its state and progress move without the reviewer reloading.
(function () {
  "use strict";
  if (document.querySelector("progress[data-state='queued'], progress[data-state='running']")) {
    window.setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
