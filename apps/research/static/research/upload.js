/* Drag-and-drop upload: each file goes to POST /api/documents/ on its own request, with its own
 * progress bar (XMLHttpRequest upload events) and its own result. Session auth + CSRF header.
 * Without this script the form posts to the page itself, which stores all files or none. */
(function () {
  "use strict";

  var form = document.getElementById("upload-form");
  if (!form) {
    return;
  }
  var dropzone = document.getElementById("dropzone");
  var input = form.querySelector("input[type=file][name=files]");
  var list = document.getElementById("upload-list");
  var submit = document.getElementById("upload-submit");
  var clear = document.getElementById("upload-clear");
  var summary = document.getElementById("upload-summary");
  var titleInput = form.querySelector("[name=title]");
  var apiUrl = form.getAttribute("data-api-url");
  var jobUrlTemplate = form.getAttribute("data-job-url-template");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);
  var maxFiles = parseInt(form.getAttribute("data-max-files"), 10);
  var metadataNames = [
    "ticker", "doc_type", "title", "source", "published_on", "fiscal_year", "fiscal_period", "period_end", "access_level"
  ];
  var items = [];
  var busy = false;

  form.setAttribute("data-enhanced", "true");

  function csrfToken() {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function formatSize(bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    if (bytes < 1024 * 1024) {
      return (bytes / 1024).toFixed(1) + " KB";
    }
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function link(href, text) {
    var a = el("a", "", text);
    a.href = href;
    return a;
  }

  function pending() {
    return items.filter(function (item) {
      return item.state === "ready";
    });
  }

  function refresh() {
    var ready = pending().length;
    submit.disabled = busy || ready === 0;
    submit.textContent = ready > 1 ? "Upload " + ready + " files" : "Upload";
    clear.hidden = busy || items.length === 0;
    if (titleInput) {
      // A title names one document: with several files each keeps its own.
      titleInput.disabled = ready > 1;
      titleInput.title = ready > 1 ? "Several files: each keeps its own title." : "";
    }
  }

  function setProgress(item, percent, state) {
    var bar = item.row.querySelector(".progress");
    bar.className = "progress progress--" + state;
    bar.setAttribute("aria-valuenow", String(percent));
    bar.querySelector(".progress__bar").style.width = percent + "%";
    bar.querySelector(".progress__value").textContent = percent + "%";
  }

  function setResult(item, state, nodes) {
    item.state = state;
    item.row.classList.remove("upload-item--ready", "upload-item--uploading");
    item.row.classList.add("upload-item--" + state);
    item.row.setAttribute("data-state", state);
    var result = item.row.querySelector(".upload-item__result");
    result.textContent = "";
    nodes.forEach(function (node) {
      result.appendChild(typeof node === "string" ? document.createTextNode(node) : node);
    });
    var remove = item.row.querySelector(".upload-item__remove");
    if (remove) {
      remove.remove();
    }
  }

  function refuseLocally(item, reason, message) {
    setProgress(item, 0, "failed");
    setResult(item, "refused", ["Refused: " + message + " (" + reason + ")"]);
  }

  function addFiles(files) {
    Array.prototype.forEach.call(files, function (file) {
      var row = el("li", "upload-item upload-item--ready");
      row.setAttribute("data-testid", "upload-item");
      row.setAttribute("data-filename", file.name);
      row.appendChild(el("span", "upload-item__name", file.name));
      var side = el("span", "");
      side.appendChild(el("span", "upload-item__size", formatSize(file.size) + " "));
      var remove = el("button", "upload-item__remove", "Remove");
      remove.type = "button";
      side.appendChild(remove);
      row.appendChild(side);
      var progress = el("div", "progress progress--queued");
      progress.setAttribute("role", "progressbar");
      progress.setAttribute("aria-label", "Upload progress of " + file.name);
      progress.setAttribute("aria-valuemin", "0");
      progress.setAttribute("aria-valuemax", "100");
      progress.setAttribute("aria-valuenow", "0");
      var track = el("div", "progress__track");
      var bar = el("div", "progress__bar");
      bar.style.width = "0%";
      track.appendChild(bar);
      progress.appendChild(track);
      progress.appendChild(el("span", "progress__value", "0%"));
      row.appendChild(progress);
      row.appendChild(el("div", "upload-item__result", "Ready"));
      list.appendChild(row);

      var item = { file: file, row: row, state: "ready" };
      items.push(item);
      remove.addEventListener("click", function () {
        items.splice(items.indexOf(item), 1);
        row.remove();
        refresh();
      });
      // Checked here too so an oversized file is not sent at all; the server checks again.
      if (file.size > maxBytes) {
        refuseLocally(item, "file_too_large", "the file is " + formatSize(file.size) + "; the limit is " + formatSize(maxBytes) + ".");
      } else if (pending().length > maxFiles) {
        refuseLocally(item, "too_many_files", "at most " + maxFiles + " files per upload.");
      }
    });
    refresh();
  }

  function metadata(data, single) {
    metadataNames.forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (!field || !field.value || (name === "title" && !single)) {
        return;
      }
      data.append(name, field.value);
    });
    var redact = form.elements.namedItem("redact_person_names");
    if (redact && redact.checked) {
      data.append("redact_person_names", "true");
    }
  }

  function accepted(item, body) {
    var nodes = ["Accepted: "];
    var documents = body.documents || [];
    documents.slice(0, 3).forEach(function (doc, index) {
      if (index > 0) {
        nodes.push(", ");
      }
      var a = link(doc.page_url, doc.title);
      a.setAttribute("data-testid", "uploaded-document");
      nodes.push(a);
    });
    if (documents.length > 3) {
      nodes.push(" and " + (documents.length - 3) + " more");
    }
    nodes.push(" queued for ingestion · ");
    var job = link(jobUrlTemplate.replace("00000000-0000-0000-0000-000000000000", body.job.id), "follow the job");
    job.setAttribute("data-testid", "upload-job");
    nodes.push(job);
    setProgress(item, 100, "succeeded");
    setResult(item, "accepted", nodes);
  }

  function refused(item, status, body) {
    var error = (body && body.error) || {};
    var files = error.fields && error.fields.files;
    var entry = files && files["0"];
    var nodes;
    if (entry && entry.reason) {
      nodes = ["Refused: " + entry.message + " (" + entry.reason + ")"];
      if (entry.existing_document) {
        nodes.push(" ");
        nodes.push(link(entry.existing_document.page_url, "Open the stored copy"));
      }
    } else if (status === 401 || status === 403) {
      nodes = [error.detail || "Not allowed.", " "];
      nodes.push(link(document.body.getAttribute("data-login-url") || "/accounts/login/", "Sign in again"));
    } else if (status === 429) {
      nodes = ["Too many uploads at once; retry in " + (error.retry_after_seconds || "a few") + " seconds."];
    } else if (error.detail) {
      nodes = ["Refused: " + error.detail];
    } else {
      nodes = ["Upload failed (HTTP " + status + "). Nothing was stored."];
    }
    item.row.setAttribute("data-reason", (entry && entry.reason) || error.code || "http_" + status);
    setProgress(item, 0, "failed");
    setResult(item, "refused", nodes);
  }

  function uploadOne(item, single) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("files", item.file, item.file.name);
      metadata(data, single);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", apiUrl);
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.setRequestHeader("Accept", "application/json");
      item.state = "uploading";
      item.row.classList.add("upload-item--uploading");
      item.row.querySelector(".upload-item__result").textContent = "Uploading…";
      setProgress(item, 0, "running");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable) {
          // 99 at most: the file is sent, but the server has not answered yet.
          setProgress(item, Math.min(99, Math.round((event.loaded / event.total) * 100)), "running");
        }
      });
      xhr.addEventListener("load", function () {
        var body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (ignored) {
          body = null;
        }
        if (xhr.status === 202 && body) {
          accepted(item, body);
        } else {
          refused(item, xhr.status, body);
        }
        resolve();
      });
      xhr.addEventListener("error", function () {
        setProgress(item, 0, "failed");
        setResult(item, "refused", ["Network error: the upload did not reach the server."]);
        resolve();
      });
      xhr.send(data);
    });
  }

  function uploadAll() {
    var queue = pending();
    if (busy || queue.length === 0) {
      return;
    }
    busy = true;
    refresh();
    summary.textContent = "";
    var single = queue.length === 1;
    // One file at a time: progress stays readable and the server is not flooded.
    queue
      .reduce(function (previous, item) {
        return previous.then(function () {
          return uploadOne(item, single);
        });
      }, Promise.resolve())
      .then(function () {
        busy = false;
        var ok = queue.filter(function (i) { return i.state === "accepted"; }).length;
        summary.textContent = ok + " of " + queue.length + " file" + (queue.length === 1 ? "" : "s") + " accepted.";
        summary.setAttribute("data-done", "true");
        refresh();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    uploadAll();
  });

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = "";
  });

  clear.addEventListener("click", function () {
    items.slice().forEach(function (item) {
      item.row.remove();
    });
    items = [];
    summary.textContent = "";
    refresh();
  });

  ["dragenter", "dragover"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.add("dropzone--over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    dropzone.addEventListener(name, function (event) {
      event.preventDefault();
      dropzone.classList.remove("dropzone--over");
    });
  });
  // A file dropped beside the drop zone would otherwise replace the page with the file.
  ["dragover", "drop"].forEach(function (name) {
    window.addEventListener(name, function (event) {
      if (!dropzone.contains(event.target)) {
        event.preventDefault();
      }
    });
  });
  dropzone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      addFiles(event.dataTransfer.files);
    }
  });

  refresh();
})();
