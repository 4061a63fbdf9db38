/* The configuration forms' guide (registry/layout.py sets the classes):
 * - a fieldset "gw-switch": its first field turns the feature on (a checkbox, or a choice other than
 *   empty, inherit or off); its other rows show only while it is on, and it opens when switched on;
 * - a fieldset "gw-when-<field> gw-is-<value>...": shown only while <field> has one of the values.
 * Hidden fields keep their values and are still sent: hiding never changes what is saved. */
"use strict";
(function () {
  var OFF = ["", "inherit", "off"];

  function isOn(input) {
    if (!input) { return true; }
    if (input.type === "checkbox") { return input.checked; }
    return OFF.indexOf(input.value) === -1;
  }

  function switches(fieldset) {
    var row = fieldset.querySelector(".form-row");
    return row ? row.querySelector("input, select") : null;
  }

  function applySwitch(fieldset) {
    var on = isOn(switches(fieldset));
    var rows = fieldset.querySelectorAll(".form-row");
    rows.forEach(function (row, n) { if (n > 0) { row.hidden = !on; } });
    fieldset.classList.toggle("gw-off", !on);
  }

  function applyWhen(fieldset) {
    var field = null, values = [];
    fieldset.classList.forEach(function (name) {
      if (name.indexOf("gw-when-") === 0) { field = name.slice(8); }
      if (name.indexOf("gw-is-") === 0) { values.push(name.slice(6)); }
    });
    var input = field && document.getElementById("id_" + field);
    if (input) { fieldset.hidden = values.indexOf(input.value) === -1; }
  }

  function applyAll() {
    document.querySelectorAll("fieldset.gw-switch").forEach(applySwitch);
    document.querySelectorAll("fieldset[class*='gw-when-']").forEach(applyWhen);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("fieldset.gw-switch").forEach(function (fieldset) {
      var input = switches(fieldset);
      if (!input) { return; }
      input.addEventListener("change", function () {
        applySwitch(fieldset);
        var details = fieldset.querySelector("details");
        if (details && isOn(input)) { details.open = true; }
      });
    });
    document.querySelectorAll("select, input").forEach(function (input) {
      if (input.id && document.querySelector("fieldset.gw-when-" + input.id.slice(3))) {
        input.addEventListener("change", applyAll);
      }
    });
    applyAll();
  });
})();
