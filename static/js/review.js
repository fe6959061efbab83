// Review screen, one item per digit of an upload: 0-9 label, N says it is not a digit, Enter
// confirms, A accepts the owner's claim, X excludes the whole upload, arrows move; on a touch
// screen, the buttons of the pad below the grid do the same for the selected item.
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
  const waitingCounter = document.getElementById("review-waiting");
  const pad = root.querySelector(".review-pad");
  const acceptButton = root.querySelector(".review-accept");
  let current = 0;
  let inFlight = 0;
  let decided = 0;

  function count(change) {
    decided += change;
    doneCounter.textContent = String(decided);
    waitingCounter.textContent = String(Math.max(0, remaining - decided));
  }

  function select(index) {
    if (!items.length) return;
    current = Math.max(0, Math.min(items.length - 1, index));
    items.forEach(function (item, i) {
      item.classList.toggle("current", i === current);
    });
    items[current].focus({ preventScroll: true });
    items[current].scrollIntoView({ block: "nearest" });
    if (acceptButton) acceptButton.disabled = items[current].dataset.claim === undefined;
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
    if (pad) pad.hidden = !errors;
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
    send(next.items[0], next.body)
      .then(function () {
        next.items.forEach(function (item) { item.dataset.state = "done"; });
        count(next.items.length);
      })
      .catch(function (error) {
        next.items.forEach(function (item) {
          item.dataset.state = "error";
          item.classList.add("error");
        });
        status.textContent = "Upload " + next.items[0].dataset.id + ": " + error.message;
      })
      .finally(function () {
        sending = false;
        inFlight -= 1;
        pump();
        maybeLoadMore();
      });
  }

  // `affected` are the items the decision takes out of the queue: the item itself, or, when a
  // whole upload is excluded, each of its digits on the screen.
  function decide(affected, body, shown) {
    affected.forEach(function (item) {
      if (item.dataset.state === "done") count(-1);
      item.dataset.state = "pending";
      item.classList.remove("error");
      item.classList.add("decided");
      item.querySelector(".review-outcome").textContent = shown;
    });
    inFlight += 1;
    queue.push({ items: affected, body: body });
    pump();
    const next = nextUndecided(current);
    if (next !== -1) select(next);
  }

  function act(key) {
    if (!items.length) return false;
    const item = items[current];
    if (/^[0-9]$/.test(key)) {
      decide([item], { action: "label", label: Number(key) }, "→ " + key);
    } else if (key === "n" || key === "N") {
      decide([item], { action: "label", label: 10 }, "→ not a digit");
    } else if (key === "Enter") {
      decide([item], { action: "confirm" }, "✓ " + item.dataset.digit);
    } else if (key === "a" || key === "A") {
      if (item.dataset.claim === undefined) {
        status.textContent = "Upload " + item.dataset.id + " has no owner's label to accept.";
      } else {
        decide([item], { action: "accept_claim" }, "owner: " + item.dataset.claim);
      }
    } else if (key === "x" || key === "X") {
      const upload = items.filter(function (other) {
        const open = !other.dataset.state || other.dataset.state === "error";
        return other === item || (other.dataset.id === item.dataset.id && open);
      });
      decide(upload, { action: "exclude" }, "✗ junk");
    } else if (key === "ArrowRight" || key === "ArrowDown") {
      select(current + 1);
    } else if (key === "ArrowLeft" || key === "ArrowUp") {
      select(current - 1);
    } else {
      return false;
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    // Enter and space on a focused link or button keep their own meaning.
    if (target && (target.tagName === "A" || target.tagName === "BUTTON") && (event.key === "Enter" || event.key === " ")) return;
    if (act(event.key)) event.preventDefault();
  });

  if (pad) {
    pad.addEventListener("click", function (event) {
      const button = event.target.closest("button[data-key]");
      if (button && !button.disabled) act(button.dataset.key);
    });
  }

  items.forEach(function (item, i) {
    item.addEventListener("click", function () { select(i); });
  });
  select(0);
})();
