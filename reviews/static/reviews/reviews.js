// Review parts: @mention autocomplete in comment boxes, and pinning a comment to a spot or an
// area of the panel image. No inline code: the CSP allows only scripts from this origin.
(function () {
  "use strict";

  // --- @mention autocomplete ----------------------------------------------------------------

  var menu = null;
  var menuFor = null;
  var pending = null;

  function closeMenu() {
    if (menu) menu.remove();
    menu = null;
    menuFor = null;
  }

  function wordBeforeCaret(area) {
    var upto = area.value.slice(0, area.selectionStart);
    var m = /(^|[^\w@.])@([\w.+-]{0,150})$/.exec(upto);
    return m ? m[2] : null;
  }

  function insertName(area, name) {
    var caret = area.selectionStart;
    var upto = area.value.slice(0, caret);
    var start = upto.lastIndexOf("@");
    area.value = area.value.slice(0, start + 1) + name + " " + area.value.slice(caret);
    var pos = start + name.length + 2;
    area.setSelectionRange(pos, pos);
    closeMenu();
    area.focus();
  }

  function showMenu(area, names) {
    closeMenu();
    // The answer may come after the box was posted and swapped out: no menu for a box gone.
    if (!names.length || !document.body.contains(area)) return;
    menu = document.createElement("ul");
    menu.className = "mention-menu";
    menu.setAttribute("role", "listbox");
    names.forEach(function (name, i) {
      var item = document.createElement("li");
      item.textContent = "@" + name;
      item.setAttribute("role", "option");
      item.setAttribute("data-name", name);
      item.setAttribute("aria-selected", i === 0 ? "true" : "false");
      item.addEventListener("mousedown", function (event) {
        event.preventDefault();
        insertName(area, name);
      });
      menu.appendChild(item);
    });
    var rect = area.getBoundingClientRect();
    menu.style.left = window.scrollX + rect.left + "px";
    menu.style.top = window.scrollY + rect.bottom + 2 + "px";
    document.body.appendChild(menu);
    menuFor = area;
  }

  document.addEventListener("input", function (event) {
    var area = event.target;
    if (!area.matches || !area.matches("textarea[data-mentions]")) return;
    var word = wordBeforeCaret(area);
    if (word === null) return closeMenu();
    var url = area.getAttribute("data-mentions") + "?q=" + encodeURIComponent(word);
    var mine = (pending = {});
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { members: [] }; })
      .then(function (data) { if (mine === pending) showMenu(area, data.members || []); })
      .catch(closeMenu);
  });

  document.addEventListener("keydown", function (event) {
    if (!menu || event.target !== menuFor) return;
    var items = Array.prototype.slice.call(menu.children);
    var i = items.findIndex(function (li) { return li.getAttribute("aria-selected") === "true"; });
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      items[i].setAttribute("aria-selected", "false");
      i = (i + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items[i].setAttribute("aria-selected", "true");
    } else if (event.key === "Enter" || event.key === "Tab") {
      event.preventDefault();
      insertName(menuFor, items[i].getAttribute("data-name"));
    } else if (event.key === "Escape") {
      closeMenu();
    }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === menuFor) setTimeout(closeMenu, 150);
  });

  // --- pinning a comment to a spot or an area of the image -------------------------------------

  function frame() {
    return document.querySelector(".panel-editor-side .frame:not(.frame-empty)");
  }

  function form() {
    return document.querySelector("#comments [data-comment-form]");
  }

  function place(el, x, y, w, h) {
    el.style.left = x * 100 + "%";
    el.style.top = y * 100 + "%";
    if (w) {
      el.style.width = w * 100 + "%";
      el.style.height = h * 100 + "%";
    }
  }

  function drawMarks() {
    var f = frame();
    if (!f) return;
    f.querySelectorAll(".mark:not(.is-draft)").forEach(function (m) { m.remove(); });
    document.querySelectorAll("#comments .thread[data-x]:not(.is-resolved)").forEach(function (t) {
      var mark = document.createElement("span");
      var w = parseFloat(t.getAttribute("data-w") || "0");
      var h = parseFloat(t.getAttribute("data-h") || "0");
      mark.className = "mark" + (w ? "" : " is-point");
      place(mark, parseFloat(t.getAttribute("data-x")), parseFloat(t.getAttribute("data-y")), w, h);
      f.appendChild(mark);
    });
  }

  function setDraft(x, y, w, h) {
    var f = frame();
    var fm = form();
    if (!f || !fm) return;
    var draft = f.querySelector(".mark.is-draft");
    if (!draft) {
      draft = document.createElement("span");
      f.appendChild(draft);
    }
    draft.className = "mark is-draft" + (w ? "" : " is-point");
    draft.style.width = draft.style.height = "";
    place(draft, x, y, w, h);
    var values = { x: x, y: y, w: w || "", h: h || "" };
    Object.keys(values).forEach(function (k) {
      var input = fm.querySelector("[data-mark=" + k + "]");
      if (input) input.value = values[k] === "" ? "" : values[k].toFixed(4);
    });
    var clear = fm.querySelector("[data-mark-clear]");
    if (clear) clear.classList.remove("hidden");
  }

  function clearDraft() {
    var f = frame();
    var fm = form();
    if (f) f.querySelectorAll(".mark.is-draft").forEach(function (m) { m.remove(); });
    if (!fm) return;
    fm.querySelectorAll("[data-mark]").forEach(function (input) { input.value = ""; });
    var clear = fm.querySelector("[data-mark-clear]");
    if (clear) clear.classList.add("hidden");
  }

  var start = null;

  function fraction(f, event) {
    var r = f.getBoundingClientRect();
    return {
      x: Math.min(1, Math.max(0, (event.clientX - r.left) / r.width)),
      y: Math.min(1, Math.max(0, (event.clientY - r.top) / r.height)),
    };
  }

  document.addEventListener("mousedown", function (event) {
    var f = frame();
    if (!f || !form() || !f.contains(event.target)) return;
    event.preventDefault();
    start = fraction(f, event);
  });

  document.addEventListener("mouseup", function (event) {
    var f = frame();
    if (!start || !f) return;
    var end = fraction(f, event);
    var w = Math.abs(end.x - start.x);
    var h = Math.abs(end.y - start.y);
    if (w < 0.02 && h < 0.02) setDraft(start.x, start.y);
    else setDraft(Math.min(start.x, end.x), Math.min(start.y, end.y), w, h);
    start = null;
    var area = form().querySelector("textarea");
    if (area) area.focus();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-mark-clear]")) clearDraft();
  });

  // htmx copies the old element's attributes onto the new one with the same id; an empty
  // style="" left by the browser on a typed-in field would become an inline style the CSP refuses.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || !target.querySelectorAll) return;
    target.querySelectorAll("[style='']").forEach(function (el) { el.removeAttribute("style"); });
  });

  // --- a live poll that answers 404 ------------------------------------------------------------

  // The board's live poll answers 404 once the page is closed to this person: a guest link that was
  // revoked or expired. Handled before htmx treats it as an error (which it would log): stop
  // polling (htmx drops the trigger of a removed element), say so, and disable what can no longer
  // be sent.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail && event.detail.elt;
    var xhr = event.detail && event.detail.xhr;
    if (!elt || !elt.hasAttribute("data-review-live") || !xhr || xhr.status !== 404) return;
    event.preventDefault();
    elt.remove();
    var notice = document.querySelector("[data-link-gone]");
    if (!notice) return;
    notice.classList.remove("hidden");
    document.querySelectorAll("main form button, main form textarea").forEach(function (el) {
      el.disabled = true;
    });
    document.querySelectorAll("[data-needs-link]").forEach(function (el) {
      el.classList.add("hidden");
    });
    notice.scrollIntoView({ block: "center" });
  });

  document.addEventListener("htmx:afterSwap", function () {
    if (menuFor && !document.body.contains(menuFor)) closeMenu();
    clearDraft();
    drawMarks();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var f = frame();
    if (f && form()) f.classList.add("is-markable");
    drawMarks();
  });
})();
