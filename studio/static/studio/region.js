// Region edits: paint a mask over a take (brush, eraser, rectangle) with a mouse, a pen
// or a finger, and the before/after comparison on edited takes.
// No inline code anywhere: the CSP allows only scripts from this origin.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // --- mask painter ---------------------------------------------------------------------

  // Painted pixels are opaque on the canvas; the stylesheet shows the canvas translucent.
  // The server reads the alpha channel: opaque = change.
  var PAINT = "rgb(235, 64, 52)";

  function setUpPainter(editor) {
    var canvas = editor.querySelector("[data-region-canvas]");
    var form = editor.querySelector("[data-region-form]");
    if (!canvas || !form) return;
    var ctx = canvas.getContext("2d");
    var sizeInput = editor.querySelector("[data-region-size]");
    var feather = editor.querySelector("[data-region-feather]");
    var featherValue = editor.querySelector("[data-region-feather-value]");
    var invert = editor.querySelector("[data-region-invert]");
    var stage = editor.querySelector("[data-region-stage]");
    var error = editor.querySelector("[data-region-error]");
    var stroke = null; // {id, x, y} of the pointer painting now
    var rectStart = null;
    var snapshot = null; // the canvas before the rectangle being dragged

    function tool() {
      var checked = editor.querySelector("[data-region-tool]:checked");
      return checked ? checked.value : "brush";
    }

    // Canvas pixels are the take's pixels; the canvas is shown scaled to the page.
    function point(event) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - box.left) * canvas.width / box.width,
        y: (event.clientY - box.top) * canvas.height / box.height,
      };
    }

    function brushWidth() {
      var box = canvas.getBoundingClientRect();
      // The size slider is in screen pixels: what the person sees under the cursor.
      return Number(sizeInput ? sizeInput.value : 48) * canvas.width / (box.width || canvas.width);
    }

    function line(from, to) {
      ctx.save();
      ctx.globalCompositeOperation = tool() === "eraser" ? "destination-out" : "source-over";
      ctx.strokeStyle = PAINT;
      ctx.fillStyle = PAINT;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.lineWidth = brushWidth();
      ctx.beginPath();
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x + 0.01, to.y);
      ctx.stroke();
      ctx.restore();
    }

    function rectangle(a, b) {
      ctx.fillStyle = PAINT;
      ctx.fillRect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(a.x - b.x), Math.abs(a.y - b.y));
    }

    canvas.addEventListener("pointerdown", function (event) {
      if (stroke || (event.pointerType === "mouse" && event.button !== 0)) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      var at = point(event);
      stroke = { id: event.pointerId, at: at };
      hideError();
      if (tool() === "rect") {
        rectStart = at;
        snapshot = ctx.getImageData(0, 0, canvas.width, canvas.height);
      } else {
        line(at, at);
      }
    });

    canvas.addEventListener("pointermove", function (event) {
      if (!stroke || event.pointerId !== stroke.id) return;
      event.preventDefault();
      var at = point(event);
      if (rectStart) {
        ctx.putImageData(snapshot, 0, 0);
        rectangle(rectStart, at);
      } else {
        line(stroke.at, at);
      }
      stroke.at = at;
    });

    function finish(event) {
      if (!stroke || event.pointerId !== stroke.id) return;
      if (rectStart && event.type === "pointerup") {
        ctx.putImageData(snapshot, 0, 0);
        rectangle(rectStart, point(event));
      } else if (rectStart) {
        ctx.putImageData(snapshot, 0, 0); // a cancelled drag leaves nothing behind
      }
      stroke = rectStart = snapshot = null;
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);

    var clear = editor.querySelector("[data-region-clear]");
    if (clear) {
      clear.addEventListener("click", function () {
        ctx.clearRect(0, 0, canvas.width, canvas.height);
      });
    }

    // Feather and invert are applied by the server at the take's size; the page previews them.
    function preview() {
      var px = feather ? Number(feather.value) : 0;
      if (featherValue) featherValue.textContent = String(px);
      var box = canvas.getBoundingClientRect();
      var scale = box.width / canvas.width || 1;
      canvas.style.filter = px ? "blur(" + (px * scale / 2).toFixed(1) + "px)" : "";
      if (stage && invert) stage.classList.toggle("is-inverted", invert.checked);
    }
    if (feather) feather.addEventListener("input", preview);
    if (invert) invert.addEventListener("change", preview);
    preview();

    function painted() {
      var data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
      for (var i = 3; i < data.length; i += 4) {
        if (data[i] >= 128) return true;
      }
      return false;
    }

    function showError(text) {
      if (!error) return;
      error.textContent = text;
      error.classList.remove("hidden");
    }

    function hideError() {
      if (error) error.classList.add("hidden");
    }

    form.addEventListener("submit", function (event) {
      if (!painted()) {
        event.preventDefault();
        showError("Paint over the part of the picture to change first.");
        return;
      }
      form.querySelector("[data-region-mask]").value = canvas.toDataURL("image/png");
    });
  }

  // --- before / after ----------------------------------------------------------------------

  // Delegated: the takes list is swapped in live while a job runs.
  document.addEventListener("input", function (event) {
    var slider = event.target;
    if (!slider.matches || !slider.matches("[data-compare-slider]")) return;
    var box = slider.closest("[data-compare-box]");
    var after = box && box.querySelector("[data-compare-after]");
    if (after) after.style.clipPath = "inset(0 0 0 " + slider.value + "%)";
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-compare-toggle]");
    if (!button) return;
    var box = button.closest("[data-compare-box]");
    var showingBefore = box.classList.toggle("shows-before");
    button.textContent = showingBefore ? "Show after" : "Show before";
    button.setAttribute("aria-pressed", showingBefore ? "true" : "false");
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-region-editor]").forEach(setUpPainter);
  });
})();
