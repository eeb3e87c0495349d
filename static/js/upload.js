/* Item page: upload a version with a progress bar, resumably (tus 1.0, through the vendored tus-js-client).

   The file goes up in pieces of data-chunk-size bytes, sliced from the File object by the browser: the page
   never reads the whole file into memory. A dropped connection is retried (tus asks the server where the
   upload stands and sends the rest); after a reload or a failure, choosing the same file again continues
   the earlier upload (tus-js-client remembers it in localStorage, keyed by the file's name, size, type and
   modification time). The CSRF token travels in X-CSRFToken. When the last piece is stored the server
   answers with the new version's URL (Content-Location); its document is shown, the versions table reloaded. */
(function () {
  "use strict";

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
    const labelInput = form.querySelector("#upload-label");
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
      const description = descriptionInput.value.trim();
      const metadata = { filename: file.name, filetype: file.type || "application/octet-stream" };
      if (description) metadata.description = description;
      const label = labelInput ? labelInput.value.trim() : "";
      if (label) metadata.label = label;

      function failed(error) {
        button.disabled = false;
        progressWrap.hidden = true;
        let details = null;
        const response = error && error.originalResponse;
        if (response) {
          try { details = JSON.parse(response.getBody()).details; } catch (ignored) { details = null; }
        }
        const reason = details ? String(details).replace(/^[A-Za-z_.-]+: /, "")
          : "the connection was lost. Choose the same file again to continue where it stopped.";
        say("error", [text("Upload failed: " + reason)]);
      }

      function succeeded(location) {
        fetch(location, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
          .then(function (body) {
            button.disabled = false;
            show(100);
            const code = document.createElement("code");
            code.className = "hash";
            code.setAttribute("data-upload-sha256", "");
            code.textContent = body.sha256;
            const strong = document.createElement("strong");
            strong.textContent = body.original;
            say("ok", [text("Uploaded "), strong, text(" as version " + body.ordinal + (body.label ? " (" + body.label + ")" : "") + " (" + humanSize(body.size) + "). SHA-256: "), code]);
            form.reset();
            reloadVersions();
          })
          .catch(function () { window.location.reload(); });
      }

      const upload = new tus.Upload(file, {
        endpoint: box.dataset.url,
        chunkSize: parseInt(box.dataset.chunkSize || "0", 10) || Infinity,
        retryDelays: [0, 1000, 3000, 5000],
        metadata: metadata,
        headers: { "X-CSRFToken": token, Accept: "application/json" },
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          // 100% is shown once the server has stored the last piece (onSuccess).
          show(total > 0 ? Math.min(99, Math.floor((sent * 100) / total)) : 99);
        },
        onSuccess: function (payload) {
          say("working", [text("Sent " + humanSize(file.size) + "; the server has checked and stored it…")]);
          const location = payload && payload.lastResponse ? payload.lastResponse.getHeader("Content-Location") : null;
          if (location) { succeeded(location); } else { window.location.reload(); }
        },
        onError: failed,
      });

      show(0);
      progressWrap.hidden = false;
      button.disabled = true;
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length) {
          upload.resumeFromPreviousUpload(previous[0]);
          say("working", [text("Continuing the earlier upload of " + file.name + " (" + humanSize(file.size) + ")…")]);
        } else {
          say("working", [text("Uploading " + file.name + " (" + humanSize(file.size) + ")…")]);
        }
        upload.start();
      });
    });
  }

  document.querySelectorAll("[data-upload]").forEach(setUp);
})();
