// Text models on the explorer page: a click on the map decodes the point to a
// sentence, a drag shows the sentences along the path, and "sample" lists
// sentences drawn from the prior. Each sentence keeps its code in data-z so
// tests can compare the page with the Python API. explorer.js calls these
// when the model's info says text.
"use strict";

function showTextPanels(isText) {
  for (const id of ["decoded-text", "strip-text", "samples-text"]) {
    $(id).hidden = !isText;
    $(id).replaceChildren();
  }
  for (const id of ["decoded", "strip", "samples", "plane", "plane-btn", "dims-decoded"]) if ($(id)) $(id).hidden = !!isText;
  if ($("dims-text")) $("dims-text").hidden = !isText;
}
function sentenceItems(texts, rows) {
  return texts.map((t, i) => {
    const li = document.createElement("li");
    li.textContent = t;
    if (rows) li.dataset.z = JSON.stringify(rows[i]);
    return li;
  });
}
async function decodeTextAt(z) {
  await guard(async () => {
    const [text] = await backend.decodeText(state.info.name, [z], state.label);
    $("decoded-text").textContent = text;
    $("decoded-text").dataset.z = JSON.stringify(z);
    $("decoded-z").textContent = "z = (" + z.map(fmt).join(", ") + ")";
    placeMarker("click-marker", z, "#111", 5);
  });
}
async function interpolateText(rows) {
  await guard(async () => {
    const texts = await backend.decodeText(state.info.name, rows, state.label);
    $("strip-text").replaceChildren(...sentenceItems(texts, rows));
    $("strip-text").dataset.z = JSON.stringify(rows);
  });
}
async function sampleText() {
  await guard(async () => {
    const texts = await backend.sampleText(state.info.name, SAMPLES_N, Number($("seed").value) || 0, state.label);
    $("samples-text").replaceChildren(...sentenceItems(texts));
  });
}

// The slider panel (sliders.js, loaded before this file) decodes its code to a sentence for a text model.
if (typeof dimsDecode === "function" && $("dims-decoded")) {
  const out = document.createElement("p");
  out.id = "dims-text"; out.className = "sentence"; out.hidden = true;
  $("dims-decoded").after(out);
  const dimsDecodeImage = dimsDecode;
  window.dimsDecode = async function () {
    if (!state.info || !state.info.text) return dimsDecodeImage();
    await guard(async () => {
      const z = DIMS.z.slice();
      const [text] = await backend.decodeText(state.info.name, [z], state.label);
      $("dims-text").textContent = text;
      $("dims-text").dataset.z = JSON.stringify(z);
    });
  };
}
