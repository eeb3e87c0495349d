/* Item page: upload a version with a progress bar.

   The File object is the XMLHttpRequest body, so the browser streams it from disk: the page never reads
   the file into memory. The body is raw (application/octet-stream), the file name travels in
   Content-Disposition (RFC 5987 encoded), the CSRF token in X-CSRFToken. The server answers with the new
   version as JSON (the API's version document); the versions table is then reloaded. */
(function () {
  "use strict";

  function encodeFilename(name) {
    // encodeURIComponent leaves ' ( ) * unescaped; RFC 5987 wants them encoded.
    return encodeURIComponent(name).replace(/['()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function humanSize(bytes) {
    const units = ["bytes", "KB", "MB", "GB", "TB"];
    let size = bytes;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return (unit === 0 ? size : size.toFixed(1)) + " " + units[unit];
  }

  function setUp(box) {
    const form = box.querySelector("form");
    const fileInput = form.querySelector("input[type=file]");
    const descriptionInput = form.querySelector("#upload-description");
    const button = form.querySelector("[data-upload-button]");
    const progressWrap = box.querySelector("[data-upload-progress]");
    const progress = progressWrap.querySelector("progress");
    const percent = box.querySelector("[data-upload-percent]");
    const status = box.querySelector("[data-upload-status]");
    const token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    const maxSize = parseInt(box.dataset.maxSize || "0", 10);

    function show(value) {
      progress.value = value;
      percent.textContent = value + "%";
    }

    function say(kind, nodes) {
      status.className = "upload-status " + kind;
      status.replaceChildren(...nodes);
    }

    function text(value) { return document.createTextNode(value); }

    function reloadVersions() {
      return fetch(box.dataset.versionsUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
        .then(function (html) {
          document.querySelector("[data-versions-table]").innerHTML = html;
        })
        .catch(function () { window.location.reload(); });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const file = fileInput.files[0];
      if (!file) {
        say("error", [text("Choose a file first.")]);
        fileInput.focus();
        return;
      }
      if (maxSize && file.size > maxSize) {
        say("error", [text(file.name + " is " + humanSize(file.size) + "; the largest accepted file is " + humanSize(maxSize) + ".")]);
        return;
      }
      let url = box.dataset.url;
      const description = descriptionInput.value.trim();
      if (description) url += "?description=" + encodeURIComponent(description);

      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.setRequestHeader("Content-Disposition", "attachment; filename*=UTF-8''" + encodeFilename(file.name));
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.responseType = "text";

      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable && e.total > 0) {
          // 100% is shown once the whole body is sent (the "load" event below).
          show(Math.min(99, Math.floor((e.loaded * 100) / e.total)));
        }
      });
      xhr.upload.addEventListener("load", function () {
        show(100);
        say("working", [text("Sent " + humanSize(file.size) + "; the server is checking and storing it…")]);
      });
      xhr.addEventListener("load", function () {
        button.disabled = false;
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (ignored) { body = null; }
        if (xhr.status === 201 && body) {
          show(100);
          const code = document.createElement("code");
          code.className = "hash";
          code.setAttribute("data-upload-sha256", "");
          code.textContent = body.sha256;
          const strong = document.createElement("strong");
          strong.textContent = body.original;
          say("ok", [text("Uploaded "), strong, text(" as version " + body.ordinal + " (" + humanSize(body.size) + "). SHA-256: "), code]);
          form.reset();
          reloadVersions();
        } else {
          progressWrap.hidden = true;
          const details = body && body.details ? body.details : "the server answered " + xhr.status;
          say("error", [text("Upload failed: " + String(details).replace(/^[a-z_.]+: /, ""))]);
        }
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        progressWrap.hidden = true;
        say("error", [text("Upload failed: the connection was lost or the server refused the file.")]);
      });

      show(0);
      progressWrap.hidden = false;
      button.disabled = true;
      say("working", [text("Uploading " + file.name + " (" + humanSize(file.size) + ")…")]);
      xhr.send(file); // the File itself: streamed by the browser, never read into memory here
    });
  }

  document.querySelectorAll("[data-upload]").forEach(setUp);
})();
