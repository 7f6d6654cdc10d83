// Smoke test of docs.js under a minimal DOM shim (run by TestDocsRendererRuns when node exists):
// node docs_smoke.js <docs.js> <openapi.json> <layout>. Prints the rendered text; exits 1 on error.
"use strict";
const fs = require("fs");
const [, , jsPath, docPath, layout] = process.argv;
const docText = fs.readFileSync(docPath, "utf8");

class Node {
  constructor(tag) { this.tagName = tag; this.childNodes = []; this.attrs = {}; this.className = ""; this.listeners = {}; this._text = ""; }
  appendChild(c) { if (c === null || c === undefined) throw new Error("appendChild(null)"); this.childNodes.push(c); return c; }
  set textContent(v) { this.childNodes = []; this._text = String(v); }
  get textContent() { return this._text + this.childNodes.map((c) => c.textContent).join(""); }
  get lastChild() { return this.childNodes[this.childNodes.length - 1]; }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  addEventListener(ev, fn) { this.listeners[ev] = fn; }
  querySelector(sel) { for (const c of this.childNodes) { if (c.tagName === sel) return c; const r = c.querySelector && c.querySelector(sel); if (r) return r; } return null; }
  scrollIntoView() {}
}
class Text { constructor(t) { this.textContent = String(t); } }
const app = new Node("div");
const body = new Node("body");
body.setAttribute("data-layout", layout);
global.document = {
  body, title: "",
  createElement: (t) => new Node(t),
  createTextNode: (t) => new Text(t),
  getElementById: (id) => (id === "app" ? app : null),
};
global.location = { hash: "" };
let failed = null;
global.fetch = (url) => {
  if (url !== "openapi.json") return Promise.reject(new Error("unexpected fetch " + url));
  return Promise.resolve({ ok: true, status: 200, json: () => Promise.resolve(JSON.parse(docText)) });
};
process.on("unhandledRejection", (e) => { failed = e; });
try {
  new Function(fs.readFileSync(jsPath, "utf8"))();
} catch (e) { console.error(e); process.exit(1); }
setTimeout(() => {
  if (failed) { console.error(failed); process.exit(1); }
  const text = app.textContent;
  if (text.includes("Could not load")) { console.error(text); process.exit(1); }
  process.stdout.write(text);
}, 200);
