// Drawing pad for /draw/: pointer events (mouse, touch, pen), undo and clear, and a multipart
// PNG upload to the same view, whose JSON answer is shown without reloading the page.
(function () {
  "use strict";

  var form = document.querySelector("[data-draw-pad]");
  if (!form) return;

  var canvas = form.querySelector("canvas");
  var ctx = canvas.getContext("2d");
  var undoButton = form.querySelector('[data-action="undo"]');
  var clearButton = form.querySelector('[data-action="clear"]');
  var submitButton = form.querySelector('[type="submit"]');
  var statusLine = form.querySelector("[data-draw-status]");
  var result = document.querySelector("[data-draw-result]");
  var resultEmpty = document.querySelector("[data-result-empty]");
  var csrfToken = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var againButton = document.querySelector('[data-action="again"]');
  // "1, or maybe 7" when the runner-up is this close to the top (the server's RUNNER_UP_MARGIN).
  var RUNNER_UP_MARGIN = parseFloat(form.getAttribute("data-runner-up-margin")) || 0;

  // The model is trained on MNIST, whose strokes are about 1/7 of the digit's height. This width
  // (relative to the pad's height) gives that for a digit drawn over most of the pad.
  var LINE_WIDTH = 0.075;
  // The PNG sent to the server: big enough to keep the shape, small enough to upload instantly.
  var EXPORT_HEIGHT = 280;
  // The canvas's pixels: its height, and its width from the pad's shape on screen (wide screens
  // get a wide pad, for numbers).
  var CANVAS_HEIGHT = 560;
  var modeInputs = form.querySelectorAll('input[name="mode"]');
  var INK = "#111111";
  var PAPER = "#ffffff";

  var strokes = []; // each stroke: array of [x, y], in units of the pad's height (y in 0..1)
  var history = []; // actions to undo: {type: "stroke"} or {type: "clear", strokes: [...]}
  var active = null; // {pointerId, points}
  var busy = false;
  // After a result the next stroke starts a new drawing (the old one goes on the undo history),
  // so a 1 and then a 7 are read one at a time, not as one drawing.
  var fresh = false;
  // The answer on screen and the drawing it belongs to: it shows only while that drawing is on
  // the pad, so a new drawing never sits under an old answer (Undo back to it shows it again).
  var answer = null; // {strokes: the strokes read, the same objects as on the pad}

  function fitCanvas() {
    var box = canvas.getBoundingClientRect();
    var aspect = box.height > 0 ? box.width / box.height : 1;
    var width = Math.round(CANVAS_HEIGHT * aspect);
    if (canvas.width !== width || canvas.height !== CANVAS_HEIGHT) {
      canvas.width = width;
      canvas.height = CANVAS_HEIGHT;
    }
  }

  function render(context, width, size) {
    context.fillStyle = PAPER;
    context.fillRect(0, 0, width, size);
    context.strokeStyle = INK;
    context.fillStyle = INK;
    context.lineWidth = LINE_WIDTH * size;
    context.lineCap = "round";
    context.lineJoin = "round";
    strokes.forEach(function (points) {
      drawStroke(context, points, size);
    });
  }

  function drawStroke(context, points, size) {
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0][0] * size, points[0][1] * size, (LINE_WIDTH * size) / 2, 0, Math.PI * 2);
      context.fill();
      return;
    }
    // Quadratic curves through the midpoints between samples: a smooth line without lag.
    context.beginPath();
    context.moveTo(points[0][0] * size, points[0][1] * size);
    for (var i = 1; i < points.length - 1; i++) {
      var mx = (points[i][0] + points[i + 1][0]) / 2;
      var my = (points[i][1] + points[i + 1][1]) / 2;
      context.quadraticCurveTo(points[i][0] * size, points[i][1] * size, mx * size, my * size);
    }
    var last = points[points.length - 1];
    context.lineTo(last[0] * size, last[1] * size);
    context.stroke();
  }

  function redraw() {
    render(ctx, canvas.width, canvas.height);
    var current = answer !== null && answer.strokes.length === strokes.length &&
      answer.strokes.every(function (stroke, i) { return stroke === strokes[i]; });
    result.hidden = !current;
    resultEmpty.hidden = current;
    undoButton.disabled = busy || history.length === 0;
    clearButton.disabled = busy || strokes.length === 0;
    submitButton.disabled = busy;
  }

  function pointFrom(event) {
    var box = canvas.getBoundingClientRect();
    var x = (event.clientX - box.left) / box.height;
    var y = (event.clientY - box.top) / box.height;
    return [Math.min(Math.max(x, 0), box.width / box.height), Math.min(Math.max(y, 0), 1)];
  }

  function say(message, kind) {
    statusLine.textContent = message;
    statusLine.className = "draw-status" + (kind ? " draw-status-" + kind : "");
  }

  canvas.addEventListener("pointerdown", function (event) {
    if (busy || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    if (fresh && strokes.length > 0) {
      history.push({ type: "clear", strokes: strokes });
      strokes = [];
    }
    fresh = false;
    active = { pointerId: event.pointerId, points: [pointFrom(event)] };
    strokes.push(active.points);
    history.push({ type: "stroke" });
    say("");
    redraw();
  });

  canvas.addEventListener("pointermove", function (event) {
    if (!active || event.pointerId !== active.pointerId) return;
    event.preventDefault();
    var samples = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    if (samples.length === 0) samples = [event];
    samples.forEach(function (sample) {
      active.points.push(pointFrom(sample));
    });
    redraw();
  });

  function endStroke(event) {
    if (active && event.pointerId === active.pointerId) active = null;
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  canvas.addEventListener("lostpointercapture", endStroke);

  function undo() {
    if (busy) return;
    var action = history.pop();
    if (!action) return;
    if (action.type === "stroke") strokes.pop();
    else strokes = action.strokes;
    fresh = false;
    say("");
    redraw();
  }
  undoButton.addEventListener("click", undo);
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key === "z" && !typing) {
      event.preventDefault();
      undo();
    }
  });

  function clearPad() {
    if (strokes.length === 0) return;
    history.push({ type: "clear", strokes: strokes });
    strokes = [];
    fresh = false;
    say("");
    redraw();
  }
  clearButton.addEventListener("click", clearPad);

  var reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  // "nearest" scrolls no further than needed, so the pad above the answer stays in view.
  function bringIntoView(element, block) {
    var box = element.getBoundingClientRect();
    if (box.top >= 0 && box.bottom <= window.innerHeight) return;
    element.scrollIntoView({ block: block || "start", behavior: reducedMotion ? "auto" : "smooth" });
  }

  if (againButton) {
    againButton.addEventListener("click", function () {
      clearPad();
      bringIntoView(form);
    });
  }

  function exportPng() {
    var out = document.createElement("canvas");
    out.width = Math.round((EXPORT_HEIGHT * canvas.width) / canvas.height);
    out.height = EXPORT_HEIGHT;
    render(out.getContext("2d"), out.width, EXPORT_HEIGHT);
    return new Promise(function (resolve, reject) {
      out.toBlob(function (blob) {
        if (blob) resolve(blob);
        else reject(new Error("The browser could not turn the drawing into an image."));
      }, "image/png");
    });
  }

  // A confidence or a probability, the same everywhere: whole percent, rounded down, so that
  // only a certain answer reads 100% (the server's `confidence` template filter).
  function confidenceText(value) {
    return Math.floor(value * 100 + 1e-6) + "%";
  }

  // The same rule as the server's `runner_up` filter: the second digit if it is close.
  function runnerUp(probabilities) {
    if (!probabilities || probabilities.length < 2) return null;
    var ranked = probabilities
      .map(function (p, digit) { return [p, digit]; })
      .sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    return ranked[0][0] - ranked[1][0] <= RUNNER_UP_MARGIN ? ranked[1][1] : null;
  }

  function hintText(d, maybe) {
    return d.digit + ", or maybe " + maybe + " (" + confidenceText(d.probabilities[maybe]) +
      " against " + confidenceText(d.confidence) + ")";
  }

  function showRunnerUp(digits) {
    var box = result.querySelector('[data-field="runner-up"]');
    box.replaceChildren();
    digits.forEach(function (d) {
      var maybe = runnerUp(d.probabilities);
      if (maybe === null) return;
      var line = document.createElement("p");
      line.className = "runner-up";
      line.setAttribute("data-testid", "runner-up");
      line.textContent = (digits.length > 1 ? "Digit " + (d.position + 1) + ": " : "") + hintText(d, maybe);
      box.appendChild(line);
    });
  }

  function digitTitle(d, digits) {
    return "Digit " + (d.position + 1) + " of " + digits.length + " (the " + d.digit + ")";
  }

  // One digit's probabilities and 28x28 input, headed by which digit they belong to.
  function showProbabilities(d, digits) {
    var many = digits.length > 1;
    result.querySelector('[data-field="prob-title"]').textContent = many
      ? digitTitle(d, digits) + ": probability of each digit"
      : "Probability of each digit";
    (d.probabilities || []).forEach(function (p, digit) {
      var row = result.querySelector('[data-prob="' + digit + '"]');
      if (!row) return;
      row.classList.toggle("prob-top", digit === d.digit);
      row.querySelector("progress").value = p;
      row.querySelector("progress").textContent = confidenceText(p);
      row.querySelector(".prob-value").textContent = confidenceText(p);
    });
    result.querySelector('[data-field="model-input"]').src = d.model_input_url;
    result.querySelector('[data-field="model-input-caption"]').textContent =
      "What the model saw (28×28)" + (many ? " for digit " + (d.position + 1) : "");
    result.querySelectorAll("[data-digit-position]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.dataset.digitPosition) === d.position));
    });
  }

  function showDigits(digits) {
    var list = result.querySelector('[data-field="digits"]');
    list.replaceChildren();
    list.hidden = digits.length < 2;
    if (digits.length < 2) return;
    digits.forEach(function (d) {
      var item = document.createElement("li");
      item.className = "digit-item";
      item.setAttribute("data-testid", "digit-item");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "digit-item-button";
      button.dataset.digitPosition = String(d.position);
      button.setAttribute("aria-label", digitTitle(d, digits) + ", " + confidenceText(d.confidence) + ": show its probabilities");
      var img = document.createElement("img");
      img.src = d.model_input_url;
      img.alt = "";
      img.width = 56;
      img.height = 56;
      img.className = "digit-input";
      var digit = document.createElement("span");
      digit.className = "digit-item-digit";
      digit.textContent = String(d.digit);
      var conf = document.createElement("span");
      conf.className = "digit-item-conf";
      conf.textContent = confidenceText(d.confidence);
      button.append(img, digit, conf);
      var maybe = runnerUp(d.probabilities);
      if (maybe !== null) {
        var hint = document.createElement("span");
        hint.className = "digit-item-maybe";
        hint.textContent = d.digit + ", or maybe " + maybe;
        button.appendChild(hint);
      }
      button.addEventListener("click", function () {
        showProbabilities(d, digits);
      });
      item.appendChild(button);
      list.appendChild(item);
    });
  }

  function showResult(data) {
    var digits = data.digits || [];
    result.querySelector('[data-field="label"]').textContent =
      digits.length > 1 ? "The number is" : "The digit is";
    result.querySelector('[data-field="digit"]').textContent = data.text || String(data.digit);
    result.querySelector('[data-field="confidence"]').textContent = confidenceText(data.confidence);
    result.querySelector('[data-field="low-confidence"]').hidden = !data.low_confidence;
    showPersonal(data);
    showDigits(digits);
    showRunnerUp(digits);
    showProbabilities(digits[0] || data, digits.length ? digits : [data]);
    result.querySelector('[data-field="link"]').href = data.page_url;
    answer = { strokes: strokes.slice() };
    redraw();
  }

  // The same sentence as the result page: read with the owner's corrections, and what the model
  // alone said.
  function showPersonal(data) {
    var note = result.querySelector('[data-field="personal"]');
    var n = data.personal_corrections || 0;
    note.hidden = n === 0;
    if (n === 0) return;
    var text = "Read with your " + n + " correction" + (n === 1 ? "" : "s") + ". ";
    note.textContent = text + (data.model_text && data.model_text !== data.text
      ? "The model alone would have said " + data.model_text + "."
      : "The model alone reads it the same.");
  }

  function hideResult() {
    answer = null;
    redraw();
  }

  async function readAnswer(response) {
    var type = response.headers.get("Content-Type") || "";
    if (response.redirected || type.indexOf("application/json") === -1) {
      if (response.redirected) return { detail: "Your session has ended. Please log in again, then draw once more." };
      if (response.status === 403) return { detail: "This page has expired. Reload it and try again." };
      return { detail: "The server could not read this drawing (error " + response.status + "). Please try again." };
    }
    return response.json();
  }

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    if (busy) return;
    if (strokes.length === 0) {
      say("The canvas is empty. Draw a digit or a number first, then press Read it.", "error");
      return;
    }
    busy = true;
    redraw();
    say("Reading your drawing…", "busy");
    try {
      var body = new FormData();
      body.append("image", await exportPng(), "drawing.png");
      modeInputs.forEach(function (input) {
        if (input.checked) body.append("mode", input.value);
      });
      var response = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, Accept: "application/json" },
      });
      var data = await readAnswer(response);
      if (response.status === 201 && data.status === "done") {
        showResult(data);
        fresh = true;
        say(
          "Read " + (data.text || String(data.digit)) + " (" + confidenceText(data.confidence) + "). " +
            "Your next stroke starts a new drawing.",
          "ok"
        );
        bringIntoView(result.querySelector('[data-field="summary"]'), "nearest");
      } else if (response.status === 201) {
        fresh = true;
        hideResult();
        say(
          "We saved your drawing but could not read it yet: " + data.error_message +
            " It stays in your history and will be read as soon as the model is available.",
          "error"
        );
      } else {
        hideResult();
        say(data.detail || "Something went wrong. Please try again.", "error");
      }
    } catch (error) {
      hideResult();
      say("Could not reach Digits. Check your connection and try again.", "error");
    } finally {
      busy = false;
      redraw();
    }
  });

  window.addEventListener("resize", function () {
    fitCanvas();
    redraw();
  });
  fitCanvas();
  redraw();
})();
