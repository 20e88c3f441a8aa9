/* The documents list: its filters are folded behind their button so that on a phone the list
 * comes first; on a screen wide enough to show both, the filters start open. */
(function () {
  "use strict";
  var panel = document.querySelector("[data-test=filters-panel]");
  if (panel && window.matchMedia("(min-width: 641px)").matches) {
    panel.open = true;
  }
})();
