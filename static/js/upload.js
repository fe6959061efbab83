// Upload page enhancements: drag and drop, a preview, and instant checks of type and size.
// Without this script the form still posts normally and the server gives the same messages.
(function () {
  "use strict";

  var form = document.querySelector("[data-upload-form]");
  if (!form) return;
  var input = form.querySelector('input[type="file"]');
  var zone = form.querySelector("[data-dropzone]");
  var hint = form.querySelector("[data-dropzone-hint]");
  var errors = form.querySelector("[data-upload-error]");
  var preview = form.querySelector("[data-upload-preview]");
  var previewImage = preview.querySelector("img");
  var previewCaption = preview.querySelector("figcaption");
  var submitButton = form.querySelector('[type="submit"]');
  var maxBytes = parseInt(input.dataset.maxBytes, 10) || 5 * 1024 * 1024;
  var ACCEPTED = ["image/png", "image/jpeg", "image/webp", "image/gif", "image/bmp", "image/tiff"];
  var ACCEPTED_NAME = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;
  var previewUrl = null;

  hint.hidden = false;
  zone.classList.add("dropzone-active");

  function humanBytes(n) {
    if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB";
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  function showError(message) {
    errors.textContent = "";
    form.querySelector(".field").classList.toggle("field-error", Boolean(message));
    if (message) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = message;
      errors.appendChild(p);
      input.setAttribute("aria-invalid", "true");
    } else {
      input.removeAttribute("aria-invalid");
    }
  }

  function problemWith(file) {
    if (!file) return "Choose an image file to upload.";
    if (file.size === 0) return "The file you chose is empty.";
    // Some systems give no type for TIFF or BMP; the name is then the only hint we have.
    var typeOk = file.type ? ACCEPTED.indexOf(file.type) !== -1 : ACCEPTED_NAME.test(file.name);
    if (!typeOk) {
      return "“" + file.name + "” is not a supported image. Please choose a PNG, JPEG, WebP, GIF, BMP or TIFF file.";
    }
    if (file.size > maxBytes) {
      return "“" + file.name + "” is " + humanBytes(file.size) + "; the limit is " + humanBytes(maxBytes) + ".";
    }
    return "";
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

  function check() {
    var file = input.files && input.files[0];
    var problem = file ? problemWith(file) : "";
    showError(problem);
    showPreview(file && !problem && file.type !== "image/tiff" ? file : null);
    return problem;
  }

  input.addEventListener("change", check);

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
      showError("Drop one image at a time.");
      return;
    }
    input.files = files;
    check();
  });
  // A file dropped beside the zone would otherwise make the browser leave the page to open it.
  ["dragover", "drop"].forEach(function (name) {
    window.addEventListener(name, function (event) {
      if (!zone.contains(event.target)) event.preventDefault();
    });
  });

  form.addEventListener("submit", function (event) {
    var file = input.files && input.files[0];
    var problem = problemWith(file);
    if (problem) {
      event.preventDefault();
      showError(problem);
      input.focus();
      return;
    }
    submitButton.disabled = true;
    submitButton.textContent = "Reading…";
  });

  // Coming back with the browser's Back button must not leave the button stuck on "Reading…".
  window.addEventListener("pageshow", function () {
    submitButton.disabled = false;
    submitButton.textContent = "Read digit";
  });
})();
