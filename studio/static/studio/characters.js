// Character bible pages: multi-file upload with drag and drop, and the view select on image tiles.
// Without this file the pages still work: a plain multiple file input and "Change view" buttons.
(function () {
  "use strict";

  // Same words, same order as characters.forms.guess_view (longest first).
  var VIEW_WORDS = [
    [/three[\s_\-.]*quarters?/, "three_quarter"],
    [/full[\s_\-.]*body/, "full_body"],
    [/expressions?/, "expression"],
    [/front/, "front"],
    [/side/, "side"],
    [/back/, "back"],
    [/face/, "face"],
    [/details?/, "detail"]
  ];

  function guessView(filename) {
    var stem = filename.toLowerCase().replace(/\.[^.]*$/, "");
    for (var i = 0; i < VIEW_WORDS.length; i++) {
      // Whole words only: "backpack" is not a back view.
      var re = new RegExp("(^|[^a-z0-9])(?:" + VIEW_WORDS[i][0].source + ")(?![a-z])");
      if (re.test(stem)) return VIEW_WORDS[i][1];
    }
    return "";
  }

  function sameFile(a, b) {
    return a.name === b.name && a.size === b.size && a.lastModified === b.lastModified;
  }

  function setupUpload(form) {
    var input = form.querySelector(".js-upload-input");
    var zone = form.querySelector(".js-dropzone");
    var list = form.querySelector(".js-upload-list");
    var warning = form.querySelector(".js-upload-warning");
    var submit = form.querySelector(".js-upload-submit");
    var clear = form.querySelector(".js-upload-clear");
    var optionsTemplate = form.querySelector(".js-view-options");
    var withViews = form.getAttribute("data-mode") === "view";
    var maxFiles = parseInt(form.getAttribute("data-max-files"), 10) || 12;
    var picked = []; // {file, url, view, label}

    // Old browsers cannot set input.files: leave the plain file input in place.
    if (!input || !zone || typeof DataTransfer === "undefined") return;
    try { new DataTransfer(); } catch (e) { return; }

    zone.classList.remove("hidden");
    input.classList.add("hidden");

    function warn(text) {
      warning.textContent = text || "";
      warning.classList.toggle("hidden", !text);
    }

    var skippedNote = "";

    function isImage(file) {
      return /^image\/(jpeg|png|webp)$/.test(file.type);
    }

    function add(files) {
      var skipped = 0;
      for (var i = 0; i < files.length; i++) {
        var file = files[i];
        if (picked.some(function (p) { return sameFile(p.file, file); })) continue;
        if (picked.length >= maxFiles) { skipped++; continue; }
        picked.push({
          file: file,
          url: /^image\//.test(file.type) ? URL.createObjectURL(file) : "",
          view: guessView(file.name) || "front",
          label: ""
        });
      }
      skippedNote = skipped ? skipped + (skipped === 1 ? " file was" : " files were") +
        " left out: upload at most " + maxFiles + " at a time, then add the rest in another upload." : "";
      render();
    }

    // The server checks the bytes and has the last word; this only flags the obvious early.
    function updateWarning() {
      var odd = picked.filter(function (p) { return p.file.type && !isImage(p.file); })
        .map(function (p) { return p.file.name; });
      var notes = [];
      if (skippedNote) notes.push(skippedNote);
      if (odd.length) {
        notes.push(odd.join(", ") + (odd.length === 1 ? " does" : " do") +
          " not look like a JPEG, PNG or WebP image and will probably be refused.");
      }
      warn(notes.join(" "));
    }

    function remove(index) {
      var gone = picked.splice(index, 1)[0];
      if (gone && gone.url) URL.revokeObjectURL(gone.url);
      skippedNote = "";
      render();
    }

    function field(item, index) {
      if (withViews) {
        var select = document.createElement("select");
        select.name = "view_" + index;
        select.setAttribute("aria-label", "View of " + item.file.name);
        select.appendChild(optionsTemplate.content.cloneNode(true));
        select.value = item.view;
        select.addEventListener("change", function () { item.view = select.value; });
        return select;
      }
      var text = document.createElement("input");
      text.type = "text";
      text.name = "label_" + index;
      text.maxLength = 120;
      text.placeholder = "Label (optional)";
      text.setAttribute("aria-label", "Label for " + item.file.name);
      text.value = item.label;
      text.addEventListener("input", function () { item.label = text.value; });
      return text;
    }

    function render() {
      list.textContent = "";
      picked.forEach(function (item, index) {
        var row = document.createElement("li");
        row.className = "upload-item";
        var preview;
        if (item.url) {
          preview = document.createElement("img");
          preview.src = item.url;
          preview.alt = "";
        } else {
          preview = document.createElement("span");
          preview.className = "upload-noimage";
          preview.textContent = "?";
        }
        var name = document.createElement("span");
        name.className = "name";
        name.title = item.file.name;
        name.textContent = item.file.name;
        var drop = document.createElement("button");
        drop.type = "button";
        drop.className = "btn btn-small btn-secondary";
        drop.textContent = "Remove";
        drop.addEventListener("click", function () { remove(index); });
        row.appendChild(preview);
        row.appendChild(name);
        row.appendChild(field(item, index));
        row.appendChild(drop);
        list.appendChild(row);
      });
      // The form posts the input itself, so it must hold exactly the listed files, in order.
      var transfer = new DataTransfer();
      picked.forEach(function (item) { transfer.items.add(item.file); });
      input.files = transfer.files;
      submit.disabled = picked.length === 0;
      submit.textContent = picked.length > 1 ? "Upload " + picked.length + " images" : "Upload";
      clear.classList.toggle("hidden", picked.length === 0);
      updateWarning();
    }

    zone.addEventListener("click", function () { input.click(); });
    zone.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        input.click();
      }
    });
    // The picker replaces input.files; fold its choice into the list instead.
    input.addEventListener("change", function () {
      var chosen = Array.prototype.slice.call(input.files);
      add(chosen);
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-over");
      });
    });
    ["dragleave", "dragend"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-over"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("is-over");
      if (event.dataTransfer && event.dataTransfer.files) add(event.dataTransfer.files);
    });
    clear.addEventListener("click", function () {
      picked.forEach(function (item) { if (item.url) URL.revokeObjectURL(item.url); });
      picked = [];
      skippedNote = "";
      render();
    });
    form.addEventListener("submit", function (event) {
      if (!picked.length) {
        event.preventDefault();
        warn("Choose at least one image first.");
        return;
      }
      submit.disabled = true;
      submit.textContent = "Uploading…";
    });

    render();
  }

  // Changing the view select on an image tile saves at once; the button is the no-JS path.
  function setupViewForm(form) {
    var select = form.querySelector("select");
    var button = form.querySelector("button");
    if (!select || !button || typeof form.requestSubmit !== "function") return;
    button.classList.add("hidden");
    select.addEventListener("change", function () { form.requestSubmit(); });
  }

  document.querySelectorAll(".js-upload").forEach(setupUpload);
  document.querySelectorAll(".js-view-form").forEach(setupViewForm);
  // A page restored from the back/forward cache must not keep a disabled "Uploading…" button.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll(".js-upload-submit").forEach(function (button) {
      button.disabled = false;
      button.textContent = "Upload";
    });
  });
})();
