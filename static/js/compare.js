/* Compare page: "Hide identical rows" toggles rows at once and keeps the state in the URL
   (hide_identical=1), so the address always reproduces what is on screen. */
(function () {
  "use strict";

  const toggle = document.querySelector("[data-hide-identical]");
  const table = document.querySelector("[data-compare-table]");
  if (!toggle || !table) return;

  document.querySelectorAll("[data-compare-tools] [data-nojs]").forEach(function (el) { el.hidden = true; });

  function withState(href, hide) {
    const url = new URL(href, window.location.href);
    if (hide) url.searchParams.set("hide_identical", "1");
    else url.searchParams.delete("hide_identical");
    return url;
  }

  toggle.addEventListener("change", function () {
    const hide = toggle.checked;
    table.querySelectorAll("tr[data-identical]").forEach(function (row) { row.hidden = hide; });
    const url = withState(window.location.href, hide);
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    // Links that lead to a variant of this comparison keep the toggle's state.
    document.querySelectorAll("a[data-keep-state]").forEach(function (link) {
      const target = withState(link.href, hide);
      link.href = target.pathname + target.search;
    });
  });
})();
