// Panel 4: one slider per latent dimension. Each slider sets one coordinate
// of the code; the panel decodes the whole code, so sweeping one slider is a
// latent traversal (with a disentangled model, one factor of the image moves).
// It starts at the model's mean code, or at the code of the drawn input.
// Loaded after explorer.js and built on its page state (state, backend, guard,
// drawImage); it follows the chosen model through body[data-model].
"use strict";

const DIMS = { z: [], model: null };

function dimsShow() {
  const z = DIMS.z;
  $("dims-z").textContent = "z = (" + z.map(fmt).join(", ") + ")";
  $("dims-z").dataset.z = JSON.stringify(z);
}
async function dimsDecode() {
  await guard(async () => {
    const z = DIMS.z.slice();
    const [img] = await backend.decode(state.info.name, [z], state.label);
    drawImage($("dims-decoded"), img, state.info.image_side);
    $("dims-decoded").dataset.z = JSON.stringify(z);
  });
}
function dimsSet(z) {
  DIMS.z = z.slice();
  [...$("dim-sliders").querySelectorAll("input")].forEach((inp, k) => {
    inp.value = DIMS.z[k];
    inp.nextSibling.textContent = ` z${k + 1} = ${fmt(DIMS.z[k])}`;
  });
  dimsShow();
  return dimsDecode();
}
function dimsBuild() {
  const m = state.info;
  if (!m || DIMS.model === m.name) return;
  DIMS.model = m.name;
  DIMS.z = m.code_mean.slice(0, m.latent_dim);
  $("dim-sliders").replaceChildren(...DIMS.z.map((v, k) => {
    const lab = document.createElement("label"), inp = document.createElement("input");
    inp.type = "range"; inp.min = -4; inp.max = 4; inp.step = 0.05; inp.value = v; inp.id = `dim-${k}`;
    inp.setAttribute("aria-label", `latent dimension ${k + 1}`);
    const out = document.createElement("span");
    out.textContent = ` z${k + 1} = ${fmt(v)}`;
    inp.addEventListener("input", () => {
      DIMS.z[k] = Number(inp.value);
      out.textContent = ` z${k + 1} = ${fmt(DIMS.z[k])}`;
      dimsShow();
      dimsDecode();
    });
    lab.append(inp, out);
    return lab;
  }));
  dimsShow();
  dimsDecode();
}

$("dims-from-input").addEventListener("click", () => {
  const z = $("code").dataset.z;
  if (!z) { status("draw or load an input first: its code starts the sliders"); return; }
  dimsSet(JSON.parse(z));
});
$("dims-reset").addEventListener("click", () => dimsSet(state.info.code_mean.slice(0, state.info.latent_dim)));
new MutationObserver(dimsBuild).observe(document.body, { attributes: true, attributeFilter: ["data-model"] });
if (document.body.dataset.model) dimsBuild(); // a model chosen before this script ran
