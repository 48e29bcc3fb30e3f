// Board page (reorder by drag and drop or buttons, renumbering) and panel editor (cast picker).
// No inline code anywhere: the CSP allows only scripts from this origin.
(function () {
  "use strict";

  // Lets the stylesheet show controls that only work with a script (.js-only / .no-js-only).
  document.documentElement.classList.add("js");

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function grid() {
    return document.getElementById("panel-grid");
  }

  function cards() {
    var g = grid();
    return g ? Array.prototype.slice.call(g.querySelectorAll(":scope > [data-panel-id]")) : [];
  }

  // --- numbers, count, empty state ------------------------------------------------------

  function showNotice(text, isError) {
    var box = document.querySelector("[data-board-notice]");
    if (!box) return;
    box.textContent = text;
    box.classList.toggle("is-error", !!isError);
    box.classList.remove("hidden");
    if (!isError) {
      var link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = " Reload the board";
      box.appendChild(link);
    }
  }

  function refreshMoveButtons() {
    var list = cards();
    list.forEach(function (card, i) {
      var left = card.querySelector("[data-move=left] button");
      var right = card.querySelector("[data-move=right] button");
      if (left) left.disabled = i === 0;
      if (right) right.disabled = i === list.length - 1;
    });
  }

  function updateCount(n) {
    var count = document.querySelector("[data-panel-count]");
    if (count) count.textContent = n + (n === 1 ? " panel" : " panels");
    var empty = document.querySelector("[data-board-empty]");
    if (empty) empty.classList.toggle("hidden", n > 0);
    var hint = document.querySelector("[data-board-hint]");
    if (hint) hint.classList.toggle("hidden", n === 0);
  }

  // Puts the cards in the server's order and numbers them from it. The server's order is
  // the truth: it includes what other people changed since this page was loaded.
  function applyOrder(order) {
    var g = grid();
    if (!g || !order) return;
    var byId = {};
    cards().forEach(function (card) { byId[card.getAttribute("data-panel-id")] = card; });
    var unseen = 0;
    var slot = 0;
    order.forEach(function (item) {
      var card = byId[String(item.id)];
      if (!card) {
        unseen += 1;
        return;
      }
      delete byId[String(item.id)];
      // Counted in cards only: scene headings between them stay before their first card.
      var here = g.querySelectorAll(":scope > [data-panel-id]")[slot] || null;
      if (here !== card) g.insertBefore(card, here);
      slot += 1;
      card.querySelectorAll("[data-number]").forEach(function (n) { n.textContent = item.number; });
    });
    // Cards the server no longer has were deleted, here or by someone else.
    Object.keys(byId).forEach(function (id) { byId[id].remove(); });
    refreshMoveButtons();
    updateCount(order.length);
    if (unseen) {
      showNotice(
        unseen === 1
          ? "Someone else added a panel to this board."
          : "Someone else added " + unseen + " panels to this board."
      );
    }
  }

  // htmx (add and delete panel) sends the new order in an HX-Trigger-After-Swap header.
  document.addEventListener("panelsChanged", function (event) {
    applyOrder(event.detail && event.detail.order);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target !== grid()) return;
    var list = cards();
    var added = list[list.length - 1];
    if (!added) return;
    added.classList.add("is-new");
    added.scrollIntoView({ behavior: "smooth", block: "center" });
  });

  document.addEventListener("htmx:responseError", function () {
    if (!grid()) return;
    showNotice("That change was not saved. Reload the board and try again.", true);
  });

  // --- moving -----------------------------------------------------------------------------

  function move(card, afterId) {
    var body = new FormData();
    body.append("after", afterId || "");
    card.classList.add("is-moving");
    return fetch(card.getAttribute("data-move-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (data) {
          if (data.order) applyOrder(data.order);
          if (!response.ok) showNotice(data.error || "The move was not saved.", true);
        });
      })
      .catch(function () {
        showNotice("The move was not saved. Reload the board and try again.", true);
      })
      .then(function () { card.classList.remove("is-moving"); });
  }

  function afterIdOf(card) {
    var prev = card.previousElementSibling;
    while (prev && !prev.hasAttribute("data-panel-id")) prev = prev.previousElementSibling;
    return prev ? prev.getAttribute("data-panel-id") : "";
  }

  // Keyboard and button alternative to dragging: the same endpoint, `after` read from the
  // page as it is now (the value rendered into the form may be stale after other moves).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var direction = form.getAttribute("data-move");
    if (!direction || !grid()) return;
    event.preventDefault();
    var card = form.closest("[data-panel-id]");
    var list = cards();
    var i = list.indexOf(card);
    if (direction === "left" && i > 0) {
      grid().insertBefore(card, list[i - 1]);
    } else if (direction === "right" && i >= 0 && i < list.length - 1) {
      grid().insertBefore(card, list[i + 1].nextSibling);
    } else {
      return;
    }
    refreshMoveButtons();
    move(card, afterIdOf(card)).then(function () {
      var same = card.querySelector("[data-move=" + direction + "] button");
      var other = card.querySelector("[data-move=" + (direction === "left" ? "right" : "left") + "] button");
      if (same && !same.disabled) same.focus();
      else if (other) other.focus();
    });
  });

  // HTML5 drag and drop, started from a card's handle only, so text in the card stays
  // selectable and the quick edit form keeps working.
  var dragged = null;
  var startAfter = null;
  var startNext = null;
  var dropped = false;

  document.addEventListener("mousedown", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle) return;
    var card = handle.closest("[data-panel-id]");
    if (card) card.setAttribute("draggable", "true");
  });

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-panel-id][draggable=true]");
    if (!card || !grid()) return;
    dragged = card;
    dropped = false;
    startAfter = afterIdOf(card);
    startNext = card.nextElementSibling;
    card.classList.add("is-dragging");
    grid().classList.add("is-sorting");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-panel-id"));
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var target = event.target.closest && event.target.closest("#panel-grid > [data-panel-id]");
    if (!target && !(event.target.closest && event.target.closest("#panel-grid"))) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!target || target === dragged) return;
    var rect = target.getBoundingClientRect();
    var before = event.clientX - rect.left < rect.width / 2;
    grid().insertBefore(dragged, before ? target : target.nextSibling);
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    event.preventDefault();
    dropped = true;
    var card = dragged;
    var after = afterIdOf(card);
    if (after !== startAfter) {
      refreshMoveButtons();
      move(card, after);
    }
  });

  document.addEventListener("dragend", function () {
    if (!dragged) return;
    if (!dropped) grid().insertBefore(dragged, startNext); // cancelled: put it back
    dragged.classList.remove("is-dragging");
    dragged.removeAttribute("draggable");
    grid().classList.remove("is-sorting");
    dragged = null;
  });

  // --- cast picker (panel editor) -----------------------------------------------------------

  function rowSelects(row) {
    return {
      character: row.querySelector("select[name$='-character']"),
      sheet: row.querySelector("select[name$='-sheet']"),
    };
  }

  // Sheets are grouped by character name (names are unique in a project); show only the
  // chosen character's group next to "Default sheet".
  function filterSheets(row) {
    var s = rowSelects(row);
    if (!s.character || !s.sheet) return;
    var chosen = s.character.value ? s.character.options[s.character.selectedIndex].text : null;
    s.sheet.querySelectorAll("optgroup").forEach(function (group) {
      var show = group.label === chosen;
      group.hidden = !show;
      group.disabled = !show;
    });
    var picked = s.sheet.options[s.sheet.selectedIndex];
    if (picked && picked.parentNode.tagName === "OPTGROUP" && picked.parentNode.disabled) {
      s.sheet.value = "";
    }
  }

  function addCastRow(picker) {
    var template = picker.querySelector("template[data-cast-template]");
    var total = picker.querySelector("input[name$='-TOTAL_FORMS']");
    var rows = picker.querySelector("[data-cast-rows]");
    if (!template || !total || !rows) return;
    var index = parseInt(total.value, 10) || 0;
    var holder = document.createElement("div");
    holder.innerHTML = template.innerHTML.replace(/__prefix__/g, String(index));
    var row = holder.firstElementChild;
    rows.appendChild(row);
    total.value = String(index + 1);
    filterSheets(row);
    var first = rowSelects(row).character;
    if (first) first.focus();
  }

  document.addEventListener("change", function (event) {
    var row = event.target.closest && event.target.closest("[data-cast-row]");
    if (row && event.target.matches("select[name$='-character']")) filterSheets(row);
  });

  document.addEventListener("click", function (event) {
    var add = event.target.closest && event.target.closest("[data-cast-add]");
    if (add) {
      addCastRow(add.closest("[data-cast-picker]"));
      return;
    }
    var remove = event.target.closest && event.target.closest("[data-cast-remove]");
    if (remove) {
      // A removed row is simply not posted: the formset reads a missing row as blank.
      var row = remove.closest("[data-cast-row]");
      var next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      if (next) {
        var focusable = rowSelects(next).character;
        if (focusable) focusable.focus();
      }
    }
  });

  function isBlankRow(row) {
    if (row.querySelector(".errorlist")) return false;
    return Array.prototype.every.call(row.querySelectorAll("select, input"), function (el) {
      return el.tagName === "SELECT" ? !el.value || el.name.slice(-6) === "-sheet" : !el.value;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The server sends three blank rows for people without JS; with "Add a character" at
    // hand, one blank row is enough.
    var blanks = Array.prototype.filter.call(document.querySelectorAll("[data-cast-rows] > [data-cast-row]"), isBlankRow);
    blanks.slice(1).forEach(function (row) { row.remove(); });
    document.querySelectorAll("[data-cast-row]").forEach(filterSheets);
  });
})();
