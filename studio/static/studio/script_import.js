// Script preview: once "Create"/"Update" is pressed, say that the work is under way
// (a long script takes a few seconds) and keep a second press from sending it twice.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("form[data-busy]")) return;
  var button = event.submitter;
  if (!button || button.value !== "confirm") return;
  form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
  // Disabled buttons are not sent: keep the pressed one's value.
  var action = document.createElement("input");
  action.type = "hidden";
  action.name = "action";
  action.value = "confirm";
  form.appendChild(action);
  var bar = form.querySelector(".script-progress");
  if (bar) bar.classList.remove("hidden");
  var note = form.querySelector(".script-busy");
  if (note) note.textContent = form.getAttribute("data-busy");
});
