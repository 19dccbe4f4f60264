(() => {
  "use strict";
  // Filtering, sorting, copy buttons and print expansion for the findings. The page reads fine
  // without this script: every finding is a <details> element.
  const root = document.documentElement;
  root.classList.add("js");

  const list = document.getElementById("finding-list");
  const rows = Array.from(list.querySelectorAll("details.finding"));
  const selects = Array.from(document.querySelectorAll("select[data-filter]"));
  const search = document.getElementById("filter-text");
  const counter = document.getElementById("finding-count");
  const noMatch = document.getElementById("no-match");

  const matches = (row) => {
    const text = search.value.trim().toLowerCase();
    return selects.every((select) => !select.value || row.dataset[select.dataset.filter] === select.value)
      && (!text || row.textContent.toLowerCase().includes(text));
  };

  const applyFilters = () => {
    let shown = 0;
    for (const row of rows) {
      row.hidden = !matches(row);
      if (!row.hidden) shown += 1;
    }
    counter.textContent = shown === rows.length ? `${rows.length} rules` : `${shown} of ${rows.length} rules shown`;
    noMatch.hidden = shown !== 0;
  };

  selects.forEach((select) => select.addEventListener("change", applyFilters));
  search.addEventListener("input", applyFilters);

  // Sorting: numeric ranks for status and severity (most urgent first), text otherwise.
  const sortKeys = {
    id: (row) => Number(row.dataset.index),
    title: (row) => row.dataset.title.toLowerCase(),
    category: (row) => row.dataset.category.toLowerCase(),
    severity: (row) => -Number(row.dataset.severityRank),
    status: (row) => Number(row.dataset.statusRank),
  };
  const headers = Array.from(document.querySelectorAll(".finding-head button[data-sort]"));

  const sortBy = (key, dir) => {
    const value = sortKeys[key];
    const sign = dir === "asc" ? 1 : -1;
    const sorted = rows.slice().sort((a, b) => {
      const [x, y] = [value(a), value(b)];
      const order = x < y ? -1 : x > y ? 1 : 0;
      return order * sign || Number(a.dataset.index) - Number(b.dataset.index);
    });
    sorted.forEach((row) => list.appendChild(row));
    for (const header of headers) {
      const active = header.dataset.sort === key;
      header.classList.toggle("sorted", active);
      if (active) header.dataset.dir = dir;
      else delete header.dataset.dir;
    }
  };

  headers.forEach((header) => header.addEventListener("click", () => {
    const dir = header.classList.contains("sorted") && header.dataset.dir === "asc" ? "desc" : "asc";
    sortBy(header.dataset.sort, dir);
  }));

  document.getElementById("expand-all").addEventListener("click", () => rows.forEach((row) => { row.open = true; }));
  document.getElementById("collapse-all").addEventListener("click", () => rows.forEach((row) => { row.open = false; }));

  // Legend entries filter by status.
  document.querySelectorAll("[data-filter-status]").forEach((link) => link.addEventListener("click", () => {
    document.getElementById("filter-status").value = link.dataset.filterStatus;
    applyFilters();
  }));

  // Links to a finding open it.
  const openFinding = (id) => {
    const target = id && document.getElementById(id);
    if (target && target.matches("details.finding")) {
      target.hidden = false;
      target.open = true;
    }
  };
  const openTarget = () => openFinding(location.hash.slice(1));
  window.addEventListener("hashchange", openTarget);
  openTarget();
  // Following the same link twice does not change the hash: open the finding on every click.
  document.querySelectorAll("a[data-open]").forEach((link) => link.addEventListener("click", () => {
    openFinding(link.dataset.open);
  }));

  // Copy buttons: the clipboard API where allowed, else select the text for Ctrl+C.
  const flash = (button, label) => {
    const original = button.textContent;
    button.textContent = label;
    button.classList.add("done");
    window.setTimeout(() => { button.textContent = original; button.classList.remove("done"); }, 1600);
  };
  const selectText = (node) => {
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  };
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button.copy");
    if (!button) return;
    const code = button.closest(".code").querySelector("code");
    const fallback = () => { selectText(code); flash(button, "Press Ctrl+C"); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(code.textContent).then(() => flash(button, "Copied"), fallback);
    } else {
      fallback();
    }
  });

  // Printing shows every finding expanded; the previous state comes back afterwards.
  let openBeforePrint = [];
  window.addEventListener("beforeprint", () => {
    openBeforePrint = rows.filter((row) => row.open);
    rows.forEach((row) => { row.open = true; });
  });
  window.addEventListener("afterprint", () => {
    rows.forEach((row) => { row.open = openBeforePrint.includes(row); });
  });

  applyFilters();
})();
