/* The documents list: its filters and its "New: …" buttons are folded behind a button each so
 * that on a phone the list comes first; on a screen wide enough to show everything, the folds
 * start open and their buttons are hidden (cabinet.css: .opened-wide). */
(function () {
  "use strict";
  if (!window.matchMedia("(min-width: 641px)").matches) {
    return;
  }
  document.querySelectorAll("details[data-open-wide]").forEach(function (fold) {
    fold.open = true;
    fold.classList.add("opened-wide");
  });
})();
