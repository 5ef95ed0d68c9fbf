// Two interchangeable back ends for the explorer page:
//  - ServerBackend talks to the latentlab server's JSON API;
//  - LocalBackend runs exported MLP weights in the page (the static export,
//    opened from file:// with no server and no network).
// Both expose: models(), latents(name), digit(i), encode(name, x, label),
// decode(name, rows, label), sample(name, n, seed, label).
"use strict";

class ServerBackend {
  constructor(base) { this.base = base || ""; this.kind = "server"; }
  async call(path, body) {
    const opts = body === undefined ? {} : {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
    const res = await fetch(this.base + path, opts);
    const data = await res.json();
    if (!res.ok) {
      const d = data.detail;
      throw new Error(typeof d === "string" ? d : JSON.stringify(d));
    }
    return data;
  }
  async models() { return (await this.call("api/models")).models; }
  latents(name) { return this.call(`api/models/${encodeURIComponent(name)}/latents`); }
  digit(i) { return this.call(`api/digits/${i}`); }
  encode(name, x, label) { return this.call("api/encode", { model: name, x, label }); }
  async decode(name, z, label) { return (await this.call("api/decode", { model: name, z, label })).images; }
  async sample(name, n, seed, label) { return (await this.call("api/sample", { model: name, n, seed, label })).images; }
  async decodeText(name, z, label) { return (await this.call("api/text/decode", { model: name, z, label })).texts; }
  async sampleText(name, n, seed, label) { return (await this.call("api/text/sample", { model: name, n, seed, label })).texts; }
}

// ---------------------------------------------------------------- MLP in JS
function erf(x) { // Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)
  const s = Math.sign(x), a = Math.abs(x), t = 1 / (1 + 0.3275911 * a);
  const y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return s * y;
}
const ACTIVATIONS = {
  relu: v => (v > 0 ? v : 0),
  leaky_relu: v => (v > 0 ? v : 0.2 * v),
  elu: v => (v > 0 ? v : Math.expm1(v)),
  gelu: v => 0.5 * v * (1 + erf(v / Math.SQRT2)),
  silu: v => v / (1 + Math.exp(-v)),
  tanh: v => Math.tanh(v),
  sigmoid: v => 1 / (1 + Math.exp(-v)),
  identity: v => v,
};

// net: {layers: [{n_in, n_out, W (row-major n_out x n_in), b}], activation, output}
function runMLP(net, input) {
  let h = Float64Array.from(input);
  const act = ACTIVATIONS[net.activation];
  net.layers.forEach((layer, li) => {
    const out = new Float64Array(layer.n_out), W = layer.W;
    for (let o = 0; o < layer.n_out; o++) {
      let s = layer.b[o];
      const row = o * layer.n_in;
      for (let i = 0; i < layer.n_in; i++) s += W[row + i] * h[i];
      out[o] = s;
    }
    const f = li < net.layers.length - 1 ? act : ACTIVATIONS[net.output];
    for (let o = 0; o < out.length; o++) out[o] = f(out[o]);
    h = out;
  });
  return h;
}

function oneHot(label, k) { const v = new Array(k).fill(0); if (k) v[label] = 1; return v; }

class LocalBackend {
  constructor(data) { this.data = data; this.kind = "static"; }
  info(name) {
    const m = this.data.models.find(mm => mm.name === name);
    if (!m) throw new Error(`no model named ${name}`);
    return m;
  }
  async models() { return this.data.models; }
  async latents(name) { return this.data.latents[name]; }
  async digit(i) {
    const d = this.data.digits;
    if (!d.x.length) throw new Error("no test digits in this export");
    const k = ((i % d.x.length) + d.x.length) % d.x.length;
    return { index: k, label: d.labels[k], x: d.x[k] };
  }
  labelPart(m, label) {
    if (!m.n_classes) return [];
    if (label === null || label === undefined) throw new Error("this model is conditional: pick a class");
    return oneHot(label, m.n_classes);
  }
  async decode(name, rows, label) {
    const m = this.info(name), net = this.data.nets[name];
    const extra = this.labelPart(m, label);
    return rows.map(z => {
      const out = runMLP(net.decoder, z.concat(extra));
      return Array.from(out, (v, i) => v * net.scale[i] + net.offset[i]);
    });
  }
  async encode(name, x, label) {
    const m = this.info(name), net = this.data.nets[name];
    if (!net.encoder) throw new Error("this export has no encoder for this model");
    const xs = x.map((v, i) => (v - net.offset[i]) / net.scale[i]);
    const out = runMLP(net.encoder, xs.concat(this.labelPart(m, label)));
    const code = Array.from(out.slice(0, m.latent_dim));
    const rec = (await this.decode(name, [code], label))[0];
    const error = rec.reduce((s, v, i) => s + (v - x[i]) ** 2, 0) / x.length;
    return { model: name, code, reconstruction: rec, error };
  }
  async sample(name, n, seed, label) {
    const bank = this.data.samples[name][String(label ?? "")] || this.data.samples[name][""];
    return Array.from({ length: n }, (_, i) => bank[(seed * n + i) % bank.length]);
  }
}

window.ServerBackend = ServerBackend;
window.LocalBackend = LocalBackend;
