/* The create/edit form of models and datasets.

   - Tags and "Shared with" become chip inputs: the comma-separated field stays the value the server
     reads (and what works without JavaScript); an entry box adds chips on Enter, comma or when a
     suggestion is picked. Suggestions come from /suggest/tags, /suggest/users (session-authenticated
     JSON, curated tags first) into the field's <datalist>, which the page pre-fills with the curated
     entries before anyone types.
   - Metadata rows are added and removed inline; names get suggestions from /suggest/metadata.
   - A long dataset list gets a filter box.
   - "Preview" shows the rendered description above the form without reloading the page. */
(function () {
  "use strict";

  const form = document.querySelector("[data-item-form]");
  if (!form) return;

  function splitNames(text) {
    return text.split(",").map(function (part) { return part.trim(); }).filter(Boolean);
  }

  /* Fills a datalist from a suggestion endpoint, debounced, dropping stale answers. */
  function suggester(url, datalist, exclude) {
    let timer = null;
    let last = null;
    let controller = null;
    function load(query) {
      if (query === last) return;
      last = query;
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(query), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller.signal,
      })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          const taken = exclude ? exclude() : [];
          const options = data.results
            .filter(function (entry) { return taken.indexOf(entry.name) === -1; })
            .map(function (entry) {
              const option = document.createElement("option");
              option.value = entry.name;
              if (entry.usage === "default") option.label = "curated";
              return option;
            });
          datalist.replaceChildren(...options);
        })
        .catch(function () { /* aborted or offline: keep the current suggestions */ });
    }
    return {
      soon: function (query) {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () { load(query.trim()); }, 120);
      },
      now: function (query) { load(query.trim()); },
    };
  }

  /* ------------------------------------------------------------ chip inputs */

  const chipFields = [];

  function setUpChips(field) {
    const source = field.querySelector("[data-chip-source]");
    const noun = field.dataset.noun || "entry";
    const datalist = document.getElementById(source.getAttribute("list"));
    let values = splitNames(source.value);

    const box = document.createElement("div");
    box.className = "chip-input";
    const list = document.createElement("ul");
    list.className = "chip-list";
    list.setAttribute("aria-label", "Chosen " + noun + "s");
    const entry = document.createElement("input");
    entry.type = "text";
    entry.id = source.id;
    entry.setAttribute("list", source.getAttribute("list"));
    entry.setAttribute("autocomplete", "off");
    entry.setAttribute("spellcheck", "false");
    entry.setAttribute("aria-describedby", source.getAttribute("aria-describedby") || "");
    entry.placeholder = "Add a " + noun + "…";
    entry.dataset.chipEntry = noun;

    source.id = source.id + "-value";
    source.type = "hidden";
    source.removeAttribute("list");
    source.removeAttribute("aria-describedby");
    box.append(list, entry);
    source.after(box);
    box.addEventListener("click", function (event) {
      if (event.target === box || event.target === list) entry.focus();
    });

    const suggestions = suggester(field.dataset.suggestUrl, datalist, function () { return values; });

    function render() {
      source.value = values.join(", ");
      list.replaceChildren(...values.map(function (value) {
        const item = document.createElement("li");
        item.className = "chip chip-editable";
        const label = document.createElement("span");
        label.textContent = value;
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "chip-remove";
        remove.setAttribute("aria-label", "Remove " + noun + " " + value);
        remove.textContent = "×";
        remove.addEventListener("click", function () {
          values = values.filter(function (other) { return other !== value; });
          render();
          entry.focus();
        });
        item.append(label, remove);
        return item;
      }));
    }

    function add(text) {
      splitNames(text).forEach(function (value) {
        if (values.indexOf(value) === -1) values.push(value);
      });
      entry.value = "";
      render();
    }

    entry.addEventListener("keydown", function (event) {
      if ((event.key === "Enter" || event.key === ",") && entry.value.trim()) {
        event.preventDefault();
        add(entry.value);
        suggestions.now("");
      } else if (event.key === "Backspace" && !entry.value && values.length) {
        values.pop();
        render();
      }
    });
    entry.addEventListener("input", function (event) {
      // A suggestion picked from the datalist arrives as one replacement, not as typing.
      const picked = !event.inputType || event.inputType === "insertReplacementText";
      if ((picked && entry.value.trim()) || entry.value.indexOf(",") !== -1) {
        add(entry.value);
        suggestions.now("");
        return;
      }
      suggestions.soon(entry.value);
    });
    entry.addEventListener("focus", function () { suggestions.now(entry.value); });

    render();
    chipFields.push({ flush: function () { if (entry.value.trim()) add(entry.value); } });
  }

  form.querySelectorAll("[data-chip-field]").forEach(setUpChips);

  /* ------------------------------------------------------------ metadata rows */

  const metadata = form.querySelector("[data-metadata]");
  if (metadata) {
    const rows = metadata.querySelector("[data-meta-rows]");
    const template = metadata.querySelector("[data-meta-template]");
    const addButton = metadata.querySelector("[data-meta-add]");
    const names = suggester("/suggest/metadata", document.getElementById("metadata-options"), function () {
      return Array.from(rows.querySelectorAll("[data-meta-name]")).map(function (input) { return input.value.trim(); });
    });
    let counter = rows.querySelectorAll("[data-meta-row]").length;

    function addRow() {
      const fragment = template.content.cloneNode(true);
      const index = "n" + counter++;
      fragment.querySelectorAll("[id]").forEach(function (el) { el.id = el.id.replace("__i__", index); });
      fragment.querySelectorAll("label[for]").forEach(function (el) {
        el.htmlFor = el.htmlFor.replace("__i__", index);
      });
      const row = fragment.querySelector("[data-meta-row]");
      rows.append(fragment);
      row.querySelector("[data-meta-name]").focus();
    }

    addButton.addEventListener("click", addRow);
    rows.addEventListener("click", function (event) {
      const button = event.target.closest("[data-meta-remove]");
      if (!button) return;
      button.closest("[data-meta-row]").remove();
      if (!rows.querySelector("[data-meta-row]")) addRow();
      else addButton.focus();
    });
    rows.addEventListener("input", function (event) {
      if (event.target.matches("[data-meta-name]")) names.soon(event.target.value);
    });
    rows.addEventListener("focusin", function (event) {
      if (event.target.matches("[data-meta-name]")) names.now(event.target.value);
    });
  }

  /* ------------------------------------------------------------ dataset filter */

  form.querySelectorAll("[data-filter-list]").forEach(function (fieldset) {
    const input = fieldset.querySelector("[data-filter-input]");
    if (!input) return;
    input.hidden = false;
    const labels = Array.from(fieldset.querySelectorAll("[data-filter-items] label"));
    input.addEventListener("input", function () {
      const query = input.value.trim().toLowerCase();
      labels.forEach(function (label) {
        const checked = label.querySelector("input").checked;
        label.hidden = Boolean(query) && !checked && label.textContent.toLowerCase().indexOf(query) === -1;
      });
    });
  });

  /* Text typed into a chip entry but not yet turned into a chip still counts. */
  form.addEventListener("submit", function () {
    chipFields.forEach(function (field) { field.flush(); });
  });

  /* "Preview" without leaving the page: the request the button makes without JavaScript (the form with
     preview=1; nothing is saved), and the preview section of the answer put above the form. The card in
     it was sanitised by the server; a parsed document runs no script. Any failure falls back to the
     plain submission. */
  const previewButton = form.querySelector("button[name=preview]");
  if (previewButton && window.fetch && window.DOMParser) {
    previewButton.addEventListener("click", function (event) {
      event.preventDefault();
      chipFields.forEach(function (field) { field.flush(); });
      const body = new FormData(form);
      body.append(previewButton.name, previewButton.value);
      previewButton.disabled = true;
      fetch(form.action, { method: "POST", body: body, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("preview: HTTP " + response.status);
          return response.text();
        })
        .then(function (text) {
          const answer = new DOMParser().parseFromString(text, "text/html").querySelector("[data-card-preview]");
          if (!answer) throw new Error("preview: no preview in the answer");
          const section = document.importNode(answer, true);
          const shown = document.querySelector("[data-card-preview]");
          if (shown) shown.replaceWith(section); else form.parentNode.insertBefore(section, form);
          section.scrollIntoView({ block: "start" });
          previewButton.disabled = false;
        })
        .catch(function () {
          previewButton.disabled = false;
          form.requestSubmit(previewButton);
        });
    });
  }
})();
