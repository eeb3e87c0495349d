/* "Compare selected": counts the ticked items of a [data-compare-form] (checkboxes may sit outside the
   form and join it with the form= attribute) and enables the button for 2 to data-max items.
   Without JavaScript the form still submits and the server checks the count. */
(function () {
  "use strict";

  function setUp(form) {
    const max = parseInt(form.dataset.max || "6", 10);
    const button = form.querySelector("[data-compare-submit]");
    const count = form.querySelector("[data-compare-count]");
    const boxes = Array.from(form.elements).filter(function (el) {
      return el.type === "checkbox" && el.name === "ids";
    });

    function update() {
      const ticked = boxes.filter(function (box) { return box.checked; }).length;
      const ok = ticked >= 2 && ticked <= max;
      if (button) {
        button.disabled = !ok;
        button.classList.toggle("primary", ok);
      }
      if (count) {
        if (ticked === 0) count.textContent = "Tick 2–" + max + " to compare";
        else if (ticked > max) count.textContent = ticked + " selected — at most " + max;
        else count.textContent = ticked + " selected";
      }
    }

    boxes.forEach(function (box) { box.addEventListener("change", update); });
    update();
  }

  document.querySelectorAll("[data-compare-form]").forEach(setUp);
})();
