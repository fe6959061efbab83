// Upload page enhancements: drag and drop, a preview, instant checks of type and size, and
// photos over the size limit made smaller here before they are sent (phone photos often are).
// Without this script the forms still post normally and the server gives the same messages.
(function () {
  "use strict";

  var ACCEPTED = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff"];
  var ACCEPTED_NAME = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;
  // Stored copies are at most 2048 px on a side, so a photo shrunk to that loses nothing.
  var MAX_SIDE = 2048;
  var SHRINKABLE = ["image/jpeg", "image/png", "image/webp", "image/bmp", "image/gif"];

  function humanBytes(n) {
    if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  function typeProblem(file) {
    if (file.size === 0) return "The file “" + file.name + "” is empty.";
    // Some systems give no type for TIFF or BMP; the name is then the only hint we have.
    var typeOk = file.type ? ACCEPTED.indexOf(file.type) !== -1 : ACCEPTED_NAME.test(file.name);
    if (!typeOk) {
      return "“" + file.name + "” is not a supported image. Please choose a PNG, JPEG, WebP, GIF, BMP or TIFF file.";
    }
    return "";
  }

  function sizeProblem(file, maxBytes) {
    if (file.size > maxBytes) {
      return "“" + file.name + "” is " + humanBytes(file.size) + "; the limit is " + humanBytes(maxBytes) + ".";
    }
    return "";
  }

  function canShrink(file) {
    return SHRINKABLE.indexOf(file.type) !== -1 && typeof createImageBitmap === "function";
  }

  function toBlob(canvas, quality) {
    return new Promise(function (resolve) {
      canvas.toBlob(resolve, "image/jpeg", quality);
    });
  }

  // A JPEG under maxBytes, upright as the camera meant it (EXIF orientation applied).
  function shrink(file, maxBytes) {
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var quality = 0.9;
      var canvas = document.createElement("canvas");

      function attempt(tries) {
        canvas.width = Math.max(1, Math.round(bitmap.width * scale));
        canvas.height = Math.max(1, Math.round(bitmap.height * scale));
        var context = canvas.getContext("2d");
        // JPEG has no transparency: a transparent PNG would otherwise turn black.
        context.fillStyle = "#fff";
        context.fillRect(0, 0, canvas.width, canvas.height);
        context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
        return toBlob(canvas, quality).then(function (blob) {
          if (blob && blob.size <= maxBytes) {
            bitmap.close();
            var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
            return new File([blob], name, { type: "image/jpeg", lastModified: file.lastModified });
          }
          if (!blob || tries >= 8) throw new Error("could not shrink");
          if (quality > 0.65) quality -= 0.1;
          else scale *= 0.75;
          return attempt(tries + 1);
        });
      }

      return attempt(0);
    });
  }

  // Checks every chosen file, shrinks those over the limit, and puts the results back in the
  // input. Resolves to an error sentence, or "" when the input is ready to send.
  function prepare(input, maxBytes) {
    var files = Array.prototype.slice.call(input.files || []);
    for (var i = 0; i < files.length; i++) {
      var problem = typeProblem(files[i]);
      if (problem) return Promise.resolve(problem);
    }
    var big = files.filter(function (file) { return file.size > maxBytes; });
    if (big.length === 0) return Promise.resolve("");
    var unshrinkable = big.filter(function (file) { return !canShrink(file); });
    if (unshrinkable.length) return Promise.resolve(sizeProblem(unshrinkable[0], maxBytes));
    return Promise.all(files.map(function (file) {
      return file.size > maxBytes ? shrink(file, maxBytes) : file;
    })).then(function (ready) {
      var transfer = new DataTransfer();
      ready.forEach(function (file) { transfer.items.add(file); });
      input.files = transfer.files;
      return "";
    }, function () {
      return sizeProblem(big[0], maxBytes) + " It could not be made smaller here; please choose a smaller image.";
    });
  }

  function errorShower(field, errors, inputs) {
    return function (message) {
      errors.textContent = "";
      field.classList.toggle("field-error", Boolean(message));
      inputs.forEach(function (input) {
        if (message) input.setAttribute("aria-invalid", "true");
        else input.removeAttribute("aria-invalid");
      });
      if (message) {
        var p = document.createElement("p");
        p.className = "error";
        p.textContent = message;
        errors.appendChild(p);
      }
    };
  }

  // The form's button says what is going on and cannot be pressed twice.
  function busy(button) {
    var label = button.textContent;
    // Coming back with the browser's Back button must not leave the button stuck.
    window.addEventListener("pageshow", function () {
      button.disabled = false;
      button.textContent = label;
    });
    return function (text) {
      button.disabled = Boolean(text);
      button.textContent = text || label;
    };
  }

  // The forms are sent from here, so that a refusal keeps the chosen files: the page the server
  // answers with cannot. Its message is shown in place; an answer that is not a refusal (a
  // redirect to the result, or to log in) is followed.
  function sendKeepingFiles(form) {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    }).then(function (response) {
      if (response.ok && response.redirected) {
        window.location.assign(response.url);
        return null;
      }
      return response.text().then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var selector = form.hasAttribute("data-batch-form") ? "[data-batch-form]" : "[data-upload-form]";
        var errors = page.querySelector(selector + " [data-upload-error]");
        var messages = errors ? Array.prototype.map.call(errors.querySelectorAll(".error"), function (p) {
          return p.textContent;
        }) : [];
        if (messages.length === 0) {
          // Not a refusal this page knows how to show (an expired page, a server error): let the
          // browser send the form itself and show the server's page.
          HTMLFormElement.prototype.submit.call(form);
          return null;
        }
        return { message: messages.join(" "), badFile: errors.getAttribute("data-bad-file") };
      });
    }, function () {
      return { message: "Could not reach Digits. Check your connection and try again: your files are still chosen." };
    });
  }

  function setUpSingle(form) {
    var picker = form.querySelector("[data-testid='upload-input']");
    var camera = form.querySelector("[data-testid='camera-input']");
    var inputs = [picker, camera];
    var zone = form.querySelector("[data-dropzone]");
    var hint = form.querySelector("[data-dropzone-hint]");
    var preview = form.querySelector("[data-upload-preview]");
    var previewImage = preview.querySelector("img");
    var previewCaption = preview.querySelector("figcaption");
    var submitButton = form.querySelector('[type="submit"]');
    var maxBytes = parseInt(picker.dataset.maxBytes, 10) || 5 * 1024 * 1024;
    var showError = errorShower(form.querySelector(".field"), form.querySelector("[data-upload-error]"), inputs);
    var setBusy = busy(submitButton);
    var previewUrl = null;
    var problem = "";

    hint.hidden = false;
    form.querySelector("[data-shrink-note]").hidden = false;
    zone.classList.add("dropzone-active");

    function chosen() {
      for (var i = 0; i < inputs.length; i++) {
        if (inputs[i].files && inputs[i].files.length) return inputs[i];
      }
      return null;
    }

    function showPreview(file) {
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = null;
      if (!file) {
        preview.hidden = true;
        return;
      }
      previewUrl = URL.createObjectURL(file);
      previewImage.src = previewUrl;
      previewCaption.textContent = file.name + " · " + humanBytes(file.size);
      preview.hidden = false;
    }

    function check(input) {
      // Both inputs carry the `image` field: keep only the one just used.
      inputs.forEach(function (other) { if (other !== input) other.value = ""; });
      showPreview(null);
      setBusy("Preparing…");
      prepare(input, maxBytes).then(function (found) {
        problem = found;
        setBusy("");
        var file = input.files && input.files[0];
        showError(problem);
        showPreview(file && !problem && file.type !== "image/tiff" ? file : null);
        // On a phone the drop zone's hints step aside for the preview and the button.
        form.classList.toggle("upload-chosen", Boolean(file && !problem));
      });
    }

    inputs.forEach(function (input) {
      input.addEventListener("change", function () { check(input); });
    });

    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) {
        event.preventDefault();
        zone.classList.add("dropzone-over");
      });
    });
    ["dragleave", "dragend"].forEach(function (name) {
      zone.addEventListener(name, function () {
        zone.classList.remove("dropzone-over");
      });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dropzone-over");
      var files = event.dataTransfer && event.dataTransfer.files;
      if (!files || files.length === 0) return;
      if (files.length > 1) {
        showError("Drop one image at a time, or use “Several images at once” below.");
        return;
      }
      picker.files = files;
      check(picker);
    });
    // A file dropped beside the zone would otherwise make the browser leave the page to open it.
    ["dragover", "drop"].forEach(function (name) {
      window.addEventListener(name, function (event) {
        if (!zone.contains(event.target)) event.preventDefault();
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!chosen() || problem) {
        showError(problem || "Choose an image file to upload.");
        picker.focus();
        return;
      }
      setBusy("Reading…");
      sendKeepingFiles(form).then(function (refused) {
        if (!refused) return;
        setBusy("");
        showError(refused.message + " Your image is still chosen: choose another, or try again.");
        form.querySelector("[data-upload-error]").scrollIntoView({ block: "center" });
      });
    });
  }

  function setUpBatch(form) {
    var input = form.querySelector("[data-testid='batch-input']");
    var maxBytes = parseInt(input.dataset.maxBytes, 10) || 5 * 1024 * 1024;
    var maxFiles = parseInt(input.dataset.maxFiles, 10) || 20;
    var showError = errorShower(form.querySelector(".field"), form.querySelector("[data-upload-error]"), [input]);
    var setBusy = busy(form.querySelector('[type="submit"]'));
    var problem = "";

    input.addEventListener("change", function () {
      var count = input.files ? input.files.length : 0;
      if (count > maxFiles) {
        problem = "Choose at most " + maxFiles + " images at a time; you chose " + count + ".";
        showError(problem);
        return;
      }
      setBusy("Preparing…");
      prepare(input, maxBytes).then(function (found) {
        problem = found;
        setBusy("");
        showError(problem);
      });
    });

    // A refused batch: the bad file is taken out, the good ones stay chosen.
    function keepGoodFiles(badFile) {
      var files = Array.prototype.slice.call(input.files || []);
      var bad = parseInt(badFile, 10);
      if (isNaN(bad) || !files[bad]) return "";
      var transfer = new DataTransfer();
      files.forEach(function (file, i) { if (i !== bad) transfer.items.add(file); });
      input.files = transfer.files;
      var left = files.length - 1;
      if (left === 0) return " Choose another image.";
      return " We took it out; the other " + (left === 1 ? "image is" : left + " images are") +
        " still chosen: press Read all to send " + (left === 1 ? "it" : "them") + ".";
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var count = input.files ? input.files.length : 0;
      if (count === 0 || problem) {
        showError(problem || "Choose one or more image files to upload.");
        input.focus();
        return;
      }
      setBusy("Reading…");
      sendKeepingFiles(form).then(function (refused) {
        if (!refused) return;
        setBusy("");
        showError(refused.message + keepGoodFiles(refused.badFile));
        form.querySelector("[data-upload-error]").scrollIntoView({ block: "center" });
      });
    });
  }

  var single = document.querySelector("[data-upload-form]");
  if (single) setUpSingle(single);
  var batch = document.querySelector("[data-batch-form]");
  if (batch) setUpBatch(batch);
})();
