/**
 * The engine floor's provider implementations (bench only): what `resources/providers/<impl>.js` would be if every
 * provider returned at once. The floor program (bench/floor-program.ts) uses the product's own `providerShell`,
 * with `WINPE_LAB_ROOT` pointing at a scratch root whose `dist/resources/providers/<impl>.js` are one-line stubs
 * requiring this file, so the serialized provider closures, the call-time `require` and the engine's work are the
 * product's. No tools, no file reads, no hashing: outputs are the real stack's recorded output shapes
 * (`WINPE_FLOOR_SHAPES`, read once per process), and the few outputs that feed other resources' inputs are derived
 * from the inputs with a 32-bit FNV fold (microseconds), so the same resources update as in the real program.
 */
const fs = require("node:fs");

let shapes;
function shapesFor(kind) {
  shapes ??= JSON.parse(fs.readFileSync(process.env.WINPE_FLOOR_SHAPES, "utf8"));
  return shapes[kind] ?? { extraOutputs: {} };
}

function stable(v) {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

/** 64 hex characters from a string (not a content hash of anything on disk: a stand-in digest of inputs). */
function fake(s) {
  let out = "";
  for (let seed = 0; seed < 8; seed++) {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let i = 0; i < s.length; i++) {
      h ^= s.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, "0");
  }
  return out;
}

function outputsOf(kind, news) {
  const extra = shapesFor(kind).extraOutputs;
  const o = { ...news, ...extra };
  switch (kind) {
    case "DriverBuild": {
      const revs = news.revisions ?? {};
      o.inputsHash = fake(stable(revs));
      o.files = {};
      for (const [name, f] of Object.entries(extra.files ?? {}))
        o.files[name] = { ...f, sha256: fake(revs[name] ?? name) };
      break;
    }
    case "BcdSettings":
      o.storeHashes = {};
      for (const s of news.stores ?? []) o.storeHashes[s] = fake(s + stable(news.flags));
      break;
    case "InjectedFiles": {
      o.staged = {};
      for (const [d, spec] of Object.entries(news.files ?? {})) {
        const rec = extra.staged?.[d] ?? { original: null, size: 0 };
        const h = fake(`${d}:${spec.revision}`);
        o.staged[d] = { ...rec, source: spec.source, sha256: h, sha1: h.slice(0, 40) };
      }
      o.contentHash = fake(stable(o.staged));
      break;
    }
    case "ImageCommit":
      o.committed = news.files;
      o.wimDigest = fake(String(news.contentHash));
      break;
    case "WinPeIso":
      o.digest = fake(stable(news.contentHashes));
      break;
  }
  return o;
}

/** The provider module for one resource type (check/diff/create/read/update/delete, all immediate). */
module.exports = function floorProvider(kind) {
  return {
    async check(_olds, news) {
      return { inputs: news };
    },
    async diff(_id, olds, news) {
      const changes = Object.keys(news).some((k) => !k.startsWith("__") && stable(olds[k]) !== stable(news[k]));
      return { changes };
    },
    async create(inputs) {
      return { id: kind, outs: outputsOf(kind, inputs) };
    },
    async read(id, props) {
      return { id, props };
    },
    async update(_id, _olds, news) {
      return { outs: outputsOf(kind, news) };
    },
    async delete() {},
  };
};
