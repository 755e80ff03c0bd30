(function () {
  "use strict";
  var kindBoxes = Array.prototype.slice.call(document.querySelectorAll("input[name=kind]"));
  var sourceSelect = document.getElementById("source-filter");
  var textInput = document.getElementById("text-filter");
  var shownOutput = document.getElementById("shown");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-item]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section[data-group]"));

  function wantedKinds() {
    var wanted = {};
    kindBoxes.forEach(function (box) { wanted[box.value] = box.checked; });
    return wanted;
  }

  function applyFilters() {
    var kinds = wantedKinds();
    var source = sourceSelect.value;
    var text = textInput.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (item) {
      var visible = kinds[item.getAttribute("data-kind")] === true &&
        (source === "" || item.getAttribute("data-source") === source) &&
        (text === "" || (item.getAttribute("data-search") || "").indexOf(text) !== -1);
      item.hidden = !visible;
      if (visible) { shown += 1; }
    });
    groups.forEach(function (group) {
      var members = group.querySelectorAll("[data-item]");
      var visible = 0;
      for (var i = 0; i < members.length; i += 1) { if (!members[i].hidden) { visible += 1; } }
      group.hidden = visible === 0;
      var counter = group.querySelector("[data-shown]");
      if (counter) {
        counter.textContent = visible === members.length ? "" : "(" + visible + " of " + members.length + " shown)";
      }
    });
    shownOutput.textContent = shown + " of " + items.length + " items shown";
  }

  // A link can preset the filters: report.html#kinds=delete,update&source=crm&q=smith
  function presetFromHash() {
    var hash = window.location.hash.replace(/^#/, "");
    if (hash === "") { return; }
    hash.split("&").forEach(function (pair) {
      var cut = pair.indexOf("=");
      if (cut < 0) { return; }
      var key = pair.slice(0, cut);
      var value;
      try { value = decodeURIComponent(pair.slice(cut + 1).replace(/\+/g, " ")); } catch (ignored) { return; }
      if (key === "kinds") {
        var kinds = value.split(",");
        kindBoxes.forEach(function (box) { box.checked = kinds.indexOf(box.value) !== -1; });
      } else if (key === "source") {
        for (var i = 0; i < sourceSelect.options.length; i += 1) {
          if (sourceSelect.options[i].value === value) { sourceSelect.value = value; }
        }
      } else if (key === "q") {
        textInput.value = value;
      }
    });
  }

  kindBoxes.forEach(function (box) { box.addEventListener("change", applyFilters); });
  sourceSelect.addEventListener("change", applyFilters);
  textInput.addEventListener("input", applyFilters);
  presetFromHash();
  applyFilters();
  document.body.setAttribute("data-report-ready", "yes");
}());
