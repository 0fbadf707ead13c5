// Find and sort in the student table. Optional: without scripts the page shows the same table,
// and the "by score" link orders it. Reads only the page; sends nothing anywhere.
(function () {
  "use strict";
  var tools = document.getElementById("students-tools");
  var table = document.getElementById("students-by-id");
  if (!tools || !table) { return; }
  var input = document.getElementById("student-filter");
  var show = document.getElementById("student-show");
  var count = document.getElementById("student-count");
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  tools.hidden = false;

  function apply() {
    var query = input.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var match = row.getAttribute("data-id").toLowerCase().indexOf(query) !== -1 &&
        (show.value === "all" || row.getAttribute("data-" + show.value) === "1");
      row.hidden = !match;
      if (match) { shown += 1; }
    });
    count.textContent = shown + " of " + rows.length + " shown";
  }

  function sortBy(header) {
    var key = header.getAttribute("data-sort");
    var descending = header.getAttribute("aria-sort") === "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    rows.sort(function (a, b) {
      var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
      var order = key === "score" ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
    if (!cell.getAttribute("data-sort")) { return; }
    cell.tabIndex = 0;
    cell.classList.add("sortable");
    cell.addEventListener("click", function () { sortBy(cell); });
    cell.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(cell); }
    });
  });
  input.addEventListener("input", apply);
  show.addEventListener("change", apply);
  apply();
}());
