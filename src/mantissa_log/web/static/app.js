// Mantissa Log web UI: keyboard shortcuts and small conveniences. Every page works without it.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  // g + letter: go to a page (the letter is on each nav link as data-key).
  var pendingG = false;
  var pendingTimer = null;
  function go(key) {
    var link = document.querySelector('.nav a[data-key="' + key + '"]');
    if (link) { window.location.href = link.getAttribute("href"); }
  }

  // j / k: move between the rows of the page's main list (links marked data-row-link).
  function moveRow(step) {
    var links = Array.prototype.slice.call(document.querySelectorAll("[data-row-link]"));
    if (!links.length) { return; }
    var index = links.indexOf(document.activeElement);
    var next = index < 0 ? (step > 0 ? 0 : links.length - 1) : Math.min(Math.max(index + step, 0), links.length - 1);
    links[next].focus();
    links[next].scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.metaKey || event.ctrlKey || typing(event.target)) { return; }
    var key = event.key;
    if (pendingG) {
      pendingG = false;
      clearTimeout(pendingTimer);
      go(key);
      event.preventDefault();
      return;
    }
    if (key === "g") {
      pendingG = true;
      pendingTimer = setTimeout(function () { pendingG = false; }, 1200);
    } else if (key === "j" || key === "k") {
      moveRow(key === "j" ? 1 : -1);
      event.preventDefault();
    } else if (key === "/") {
      var filter = document.querySelector("[data-search]");
      if (filter) { filter.focus(); event.preventDefault(); }
    } else if (key === "?") {
      var dialog = document.getElementById("shortcuts");
      if (dialog && dialog.showModal) { dialog.open ? dialog.close() : dialog.showModal(); event.preventDefault(); }
    }
  });

  // Ctrl+Enter in a box marked data-ctrl-enter submits its form with its first button (ask, run, draft).
  document.addEventListener("keydown", function (event) {
    if (!(event.ctrlKey || event.metaKey) || event.key !== "Enter") { return; }
    var area = event.target;
    if (!area || !area.hasAttribute || !area.hasAttribute("data-ctrl-enter") || !area.form) { return; }
    event.preventDefault();
    var first = area.form.querySelector("button[type=submit]");
    if (area.form.requestSubmit) { area.form.requestSubmit(first || undefined); } else { area.form.submit(); }
  });

  // Forms that destroy something ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("[data-copy],[data-back]") : null;
    if (!target) { return; }
    if (target.hasAttribute("data-back")) { window.history.back(); return; }
    var source = document.querySelector(target.getAttribute("data-copy"));
    if (!source) { return; }
    source.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(source.value).then(function () { target.textContent = "Copied"; });
    }
  });

  // A header checkbox selects every row of its table.
  document.addEventListener("change", function (event) {
    var all = event.target;
    var name = all && all.getAttribute && all.getAttribute("data-select-all");
    if (!name) { return; }
    var boxes = all.closest("table").querySelectorAll('input[name="' + name + '"]');
    Array.prototype.forEach.call(boxes, function (box) { box.checked = all.checked; });
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) { event.target.select(); }
  });

  // The rule editor: line numbers beside the text, the error's line marked and the caret put there.
  function setupEditor(area) {
    var gutter = area.parentNode.querySelector(".gutter");
    var bad = parseInt(area.getAttribute("data-error-line") || "0", 10);
    function numbers() {
      var count = area.value.split("\n").length;
      var html = [];
      for (var i = 1; i <= count; i++) { html.push(i === bad ? '<span class="bad">' + i + "</span>" : String(i)); }
      gutter.innerHTML = html.join("\n");
    }
    numbers();
    area.addEventListener("input", numbers);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    area.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
        var validate = area.form && area.form.querySelector("[data-validate]");
        if (validate) { event.preventDefault(); validate.click(); }
      }
    });
    if (bad > 0) {
      var lines = area.value.split("\n");
      var offset = 0;
      for (var i = 0; i < bad - 1 && i < lines.length; i++) { offset += lines[i].length + 1; }
      area.focus();
      area.setSelectionRange(offset, offset + (lines[bad - 1] || "").length);
      var lineHeight = parseFloat(window.getComputedStyle(area).lineHeight) || 18;
      area.scrollTop = Math.max((bad - 5) * lineHeight, 0);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var area = document.querySelector(".editor textarea");
    if (area) { setupEditor(area); }
    // On a narrow screen the navigation scrolls sideways: keep the current page's tab in view.
    var current = document.querySelector('.nav a[aria-current="page"]');
    var nav = document.querySelector(".nav");
    if (current && nav && nav.scrollWidth > nav.clientWidth) {
      nav.scrollLeft = current.offsetLeft - (nav.clientWidth - current.offsetWidth) / 2;
    }
  });
})();
