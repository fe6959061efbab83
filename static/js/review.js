// Keyboard review screen, one item per digit of an upload: 0-9 label, Enter confirms, X excludes
// the whole upload, arrows move.
// Decisions are sent in the background and the next item is selected at once, so a reviewer
// never waits on the network between two keys.
(function () {
  "use strict";

  const root = document.getElementById("review");
  if (!root) return;
  const remaining = Number(root.dataset.remaining || 0);
  const batch = Number(root.dataset.batch || 0);
  const tokenInput = root.querySelector("input[name=csrfmiddlewaretoken]");
  const items = Array.from(root.querySelectorAll(".review-item"));
  const status = document.getElementById("review-status");
  const doneCounter = document.getElementById("review-done");
  let current = 0;
  let inFlight = 0;
  let decided = 0;

  function select(index) {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (item, i) {
      item.classList.toggle("current", i === current);
    });
    items[current].focus({ preventScroll: true });
    items[current].scrollIntoView({ block: "nearest" });
  }

  function nextUndecided(from) {
    for (let i = from + 1; i < items.length; i++) {
      if (!items[i].dataset.state) return i;
    }
    for (let i = 0; i < from; i++) {
      if (!items[i].dataset.state) return i;
    }
    return -1;
  }

  function maybeLoadMore() {
    if (inFlight > 0 || nextUndecided(-1) !== -1) return;
    const errors = items.some(function (item) { return item.dataset.state === "error"; });
    if (errors) {
      status.textContent = "Some decisions failed (marked in red). Reload to retry them.";
    } else if (remaining > batch) {
      status.textContent = "Batch done. Loading the next one…";
      window.location.reload();
    } else {
      status.textContent = "All done: nothing else is waiting for review.";
    }
  }

  // Decisions are sent one at a time, in order: a re-decided item ends with its last decision,
  // and the database sees one writer from this screen however fast the keys come.
  const queue = [];
  let sending = false;

  function send(item, body) {
    return fetch(item.dataset.decideUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "X-CSRFToken": tokenInput ? tokenInput.value : "",
        "X-Requested-With": "fetch",
      },
      body: JSON.stringify(
        item.dataset.position === undefined
          ? body
          : Object.assign({ position: Number(item.dataset.position) }, body)
      ),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail || "The server said " + response.status + ".");
        return data;
      });
    });
  }

  function pump() {
    if (sending || !queue.length) return;
    sending = true;
    const next = queue.shift();
    send(next.item, next.body)
      .then(function () {
        next.item.dataset.state = "done";
        decided += 1;
        doneCounter.textContent = String(decided);
      })
      .catch(function (error) {
        next.item.dataset.state = "error";
        next.item.classList.add("error");
        status.textContent = "Upload " + next.item.dataset.id + ": " + error.message;
      })
      .finally(function () {
        sending = false;
        inFlight -= 1;
        pump();
        maybeLoadMore();
      });
  }

  function decide(item, body, shown) {
    if (item.dataset.state === "done") decided -= 1;
    item.dataset.state = "pending";
    item.classList.remove("error");
    item.classList.add("decided");
    item.querySelector(".review-outcome").textContent = shown;
    inFlight += 1;
    queue.push({ item: item, body: body });
    pump();
    const next = nextUndecided(current);
    if (next !== -1) select(next);
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    if (!items.length) return;
    const item = items[current];
    const key = event.key;
    if (/^[0-9]$/.test(key)) {
      decide(item, { action: "label", label: Number(key) }, "→ " + key);
    } else if (key === "Enter") {
      decide(item, { action: "confirm" }, "✓ " + item.dataset.digit);
    } else if (key === "x" || key === "X") {
      decide(item, { action: "exclude" }, "✗ junk");
    } else if (key === "ArrowRight" || key === "ArrowDown") {
      select(current + 1);
    } else if (key === "ArrowLeft" || key === "ArrowUp") {
      select(current - 1);
    } else {
      return;
    }
    event.preventDefault();
  });

  items.forEach(function (item, i) {
    item.addEventListener("click", function () { select(i); });
  });
  select(0);
})();
