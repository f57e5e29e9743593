// ghnbench leaderboard: sortable tables, no dependencies. A click (or Enter) on a header sorts
// the rows of the table's first <tbody> by that column: numbers by their data-value, text by its
// content; a second click reverses the order. Empty cells always go last. Baseline and imported
// rows live in other <tbody> elements and stay where they are.
"use strict";

function cellKey(cell, numeric) {
  if (!cell) return null;
  const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
  if (raw === "") return null;
  if (!numeric) return raw.toLowerCase();
  const value = Number(raw);
  return Number.isNaN(value) ? null : value;
}

function sortTable(table, header, column) {
  const numeric = header.dataset.type === "num";
  const first = header.dataset.first || (numeric ? "descending" : "ascending");
  const now = header.getAttribute("aria-sort");
  const order = now === first ? (first === "ascending" ? "descending" : "ascending") : first;
  const sign = order === "ascending" ? 1 : -1;
  const body = table.tBodies[0];
  const rows = Array.from(body.rows).map((row, index) => ({row, index, key: cellKey(row.cells[column], numeric)}));
  rows.sort((a, b) => {
    if (a.key === null || b.key === null) {
      return a.key === b.key ? a.index - b.index : a.key === null ? 1 : -1;
    }
    if (a.key < b.key) return -sign;
    if (a.key > b.key) return sign;
    return a.index - b.index;
  });
  for (const item of rows) body.appendChild(item.row);
  for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", order);
}

function makeSortable(table) {
  Array.from(table.tHead.rows[0].cells).forEach((header, column) => {
    header.tabIndex = 0;
    header.title = "sort by " + header.textContent.trim();
    header.addEventListener("click", () => sortTable(table, header, column));
    header.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortTable(table, header, column);
      }
    });
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach(makeSortable);
});
