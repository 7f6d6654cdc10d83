// Self-contained OpenAPI 3.1 renderer for /docs and /redoc (no CDN: the service runs offline
// under a strict CSP). Everything from the document is inserted as text, never as HTML.
(function () {
  "use strict";
  var single = document.body.getAttribute("data-layout") === "single";
  var METHODS = ["get", "post", "put", "patch", "delete"];
  var doc = null;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) if (arguments[i]) parent.appendChild(arguments[i]);
    return parent;
  }
  // Inline markdown subset: `code` spans; blank lines separate paragraphs.
  function prose(text) {
    var box = el("div", "desc");
    String(text || "").split(/\n\s*\n/).forEach(function (para) {
      var p = el("p");
      para.split("`").forEach(function (part, i) {
        if (part === "") return;
        p.appendChild(i % 2 ? el("code", null, part) : document.createTextNode(part));
      });
      box.appendChild(p);
    });
    return box;
  }
  function pretty(v) { return JSON.stringify(v, null, 2); }
  function slug(s) { return s.replace(/[^A-Za-z0-9]+/g, "-"); }

  function resolve(ref) {
    if (ref.indexOf("#/") !== 0) return null;
    var cur = doc;
    ref.slice(2).split("/").forEach(function (k) {
      k = k.replace(/~1/g, "/").replace(/~0/g, "~");
      cur = cur == null ? null : cur[k];
    });
    return cur;
  }
  function refName(ref) { return ref.slice(ref.lastIndexOf("/") + 1); }

  // flatten merges $ref and allOf into one schema (later members refine earlier ones).
  function flatten(s, stack) {
    if (!s || typeof s !== "object") return { schema: s, name: null };
    var name = null;
    if (s.$ref) {
      name = refName(s.$ref);
      if (stack.indexOf(s.$ref) >= 0) return { schema: { description: "(recursive " + name + ")" }, name: name };
      var target = resolve(s.$ref);
      var rest = Object.assign({}, s); delete rest.$ref;
      var inner = flatten(target, stack.concat([s.$ref]));
      s = merge(inner.schema, rest);
    }
    if (s.allOf) {
      var out = {};
      s.allOf.forEach(function (m) { out = merge(out, flatten(m, stack).schema); });
      var own = Object.assign({}, s); delete own.allOf;
      s = merge(out, own);
    }
    return { schema: s, name: name };
  }
  function merge(a, b) {
    var out = Object.assign({}, a || {});
    Object.keys(b || {}).forEach(function (k) {
      if (k === "properties") {
        var p = Object.assign({}, out.properties || {});
        Object.keys(b.properties).forEach(function (pk) { p[pk] = p[pk] ? merge(p[pk], b.properties[pk]) : b.properties[pk]; });
        out.properties = p;
      } else if (k === "required") {
        out.required = (out.required || []).concat(b.required.filter(function (r) { return (out.required || []).indexOf(r) < 0; }));
      } else {
        out[k] = b[k];
      }
    });
    return out;
  }

  function typeLabel(s, name) {
    var t = s.type;
    if (Array.isArray(t)) t = t.join(" | ");
    if (!t && s.const !== undefined) t = typeof s.const;
    if (!t && s.anyOf) t = "any of";
    if (!t && s.oneOf) t = "one of";
    if (t === "array" || (Array.isArray(s.type) && s.type.indexOf("array") >= 0)) {
      if (s.items && s.items !== false) {
        var it = flatten(s.items, []);
        t = t.replace("array", "array<" + (it.name || typeLabel(it.schema, null) || "any") + ">");
      } else if (s.prefixItems) {
        t = t.replace("array", "[" + s.prefixItems.map(function (p) { return p.type || "any"; }).join(", ") + "]");
      }
    }
    if (!t) t = "any";
    return name ? name + " (" + t + ")" : t;
  }
  function constraints(s) {
    var c = [];
    if (s.const !== undefined) c.push("= " + JSON.stringify(s.const));
    if (s.enum) c.push("one of " + s.enum.map(function (x) { return JSON.stringify(x); }).join(", "));
    if (s.default !== undefined) c.push("default " + JSON.stringify(s.default));
    if (s.minimum !== undefined) c.push("≥ " + s.minimum);
    if (s.exclusiveMinimum !== undefined) c.push("> " + s.exclusiveMinimum);
    if (s.maximum !== undefined) c.push("≤ " + s.maximum);
    if (s.exclusiveMaximum !== undefined) c.push("< " + s.exclusiveMaximum);
    if (s.minLength !== undefined) c.push("min length " + s.minLength);
    if (s.maxLength !== undefined) c.push("max length " + s.maxLength);
    if (s.minItems !== undefined && !s.prefixItems) c.push("min items " + s.minItems);
    if (s.maxItems !== undefined && !s.prefixItems) c.push("max items " + s.maxItems);
    if (s.maxProperties !== undefined) c.push("max entries " + s.maxProperties);
    if (s.pattern) c.push("pattern " + s.pattern);
    if (s.format) c.push("format " + s.format);
    if (s.examples) c.push("e.g. " + s.examples.map(function (x) { return JSON.stringify(x); }).join(", "));
    return c.join("; ");
  }

  // schemaTree renders a schema as nested lists: one line per member with type, required flag,
  // constraints and description.
  function schemaTree(schema, depth, stack) {
    var ul = el("ul", depth === 0 ? "schema root" : "schema");
    var f = flatten(schema, stack);
    var s = f.schema || {};
    var nstack = schema && schema.$ref ? stack.concat([schema.$ref]) : stack;
    if (depth > 10) { add(ul, el("li", "desc", "…")); return ul; }
    var props = s.properties || {};
    var keys = Object.keys(props);
    if (keys.length) {
      keys.forEach(function (k) {
        ul.appendChild(member(k, props[k], (s.required || []).indexOf(k) >= 0, depth, nstack));
      });
      if (s.additionalProperties === false && depth === 0) add(ul, el("li", "desc", "No other members."));
      return ul;
    }
    if (s.additionalProperties && typeof s.additionalProperties === "object") {
      ul.appendChild(member("{key}", s.additionalProperties, false, depth, nstack));
      return ul;
    }
    if (s.items && s.items !== false) {
      if (simple(flatten(s.items, nstack).schema)) return null;
      ul.appendChild(member("[item]", s.items, false, depth, nstack));
      return ul;
    }
    if (s.prefixItems) {
      s.prefixItems.forEach(function (p, i) { ul.appendChild(member("[" + i + "]", p, true, depth, nstack)); });
      return ul;
    }
    var alts = s.anyOf || s.oneOf;
    if (alts) {
      alts.forEach(function (a, i) { ul.appendChild(member("option " + (i + 1), a, false, depth, nstack)); });
      return ul;
    }
    return null;
  }
  // simple schemas (a bare scalar type) are fully described by their parent's type label.
  function simple(s) {
    if (!s) return true;
    return !s.properties && !s.items && !s.prefixItems && !s.anyOf && !s.oneOf && !s.description &&
      !(s.additionalProperties && typeof s.additionalProperties === "object") && !constraints(s);
  }
  function member(name, schema, required, depth, stack) {
    var li = el("li");
    var f = flatten(schema, stack);
    var s = f.schema || {};
    add(li, el("span", "pname", name), el("span", "ptype", typeLabel(s, f.name)));
    if (required) add(li, el("span", "req", "required"));
    var c = constraints(s);
    if (c) add(li, el("span", "cons", c));
    if (s.description) add(li, prose(s.description));
    var sub = schemaTree(schema, depth + 1, stack);
    if (sub && sub.childNodes.length) li.appendChild(sub);
    return li;
  }

  function schemaBlock(media) {
    var box = el("div");
    if (!media || !media.schema) return box;
    var f = flatten(media.schema, []);
    if (f.name) add(box, el("div", "desc", "Schema: " + f.name));
    if (f.schema && f.schema.description) add(box, prose(f.schema.description));
    var tree = schemaTree(media.schema, 0, []);
    if (tree) box.appendChild(tree);
    if (media.example !== undefined) {
      add(box, el("h4", null, "Example"), el("pre", null, pretty(media.example)));
    }
    return box;
  }

  function security(op) {
    var sec = op.security !== undefined ? op.security : doc.security;
    if (!sec || !sec.length) return null;
    return sec.map(function (r) { return Object.keys(r).join(" + "); }).join(" or ");
  }

  function tryIt(path, method, op) {
    var box = el("div", "try");
    var media = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
    add(box, el("h4", null, "Try it"));
    var key = el("input"); key.type = "password"; key.placeholder = "API key (X-API-Key), if required";
    add(box, key);
    var params = (op.parameters || []).filter(function (p) { return p.in === "path"; });
    var inputs = params.map(function (p) {
      var i = el("input"); i.placeholder = p.name;
      add(box, el("div", null, p.name + ": "), i);
      return i;
    });
    var ta = null;
    if (media) {
      ta = el("textarea");
      ta.value = media.example !== undefined ? pretty(media.example) : "{}";
      add(box, ta);
    }
    var btn = el("button", null, "Send");
    var out = el("pre", null, "");
    btn.addEventListener("click", function () {
      var url = path;
      params.forEach(function (p, i) { url = url.replace("{" + p.name + "}", encodeURIComponent(inputs[i].value)); });
      var init = { method: method.toUpperCase(), headers: {} };
      if (key.value) init.headers["X-API-Key"] = key.value;
      if (ta) { init.headers["Content-Type"] = "application/json"; init.body = ta.value; }
      out.textContent = "…";
      fetch(url, init).then(function (r) {
        return r.text().then(function (t) {
          var body = t;
          try { body = pretty(JSON.parse(t)); } catch (e) { /* not JSON */ }
          out.textContent = r.status + " " + r.statusText + "\n\n" + body;
        });
      }).catch(function (e) { out.textContent = "Request failed: " + e; });
    });
    add(box, btn, out);
    return box;
  }

  function operation(path, method, op) {
    var sec = el("section", "op");
    sec.id = op.operationId ? slug(op.operationId) : slug(method + path);
    var det = el("details");
    det.open = single;
    var sum = el("summary");
    add(sum, el("span", "method m-" + method, method), el("span", "path mono", path), el("span", "summary", op.summary || ""));
    var auth = security(op);
    add(sum, el("span", "lock", auth ? "auth: " + auth : "no auth"));
    det.appendChild(sum);
    var body = el("div", "body");
    if (op.description) body.appendChild(prose(op.description));
    if (op.parameters && op.parameters.length) {
      add(body, el("h4", null, "Parameters"));
      var t = el("table");
      add(t, add(el("tr"), el("th", null, "Name"), el("th", null, "In"), el("th", null, "Type"), el("th", null, "Description")));
      op.parameters.forEach(function (p) {
        if (p.$ref) p = resolve(p.$ref) || p;
        add(t, add(el("tr"), el("td", "mono", p.name + (p.required ? " *" : "")), el("td", null, p.in),
          el("td", "mono", p.schema ? typeLabel(flatten(p.schema, []).schema, null) : ""), el("td", null, p.description || "")));
      });
      body.appendChild(t);
    }
    if (op.requestBody) {
      add(body, el("h4", null, "Request body" + (op.requestBody.required ? " (required)" : "") + " — application/json"));
      body.appendChild(schemaBlock(op.requestBody.content && op.requestBody.content["application/json"]));
    }
    add(body, el("h4", null, "Responses"));
    Object.keys(op.responses || {}).forEach(function (code) {
      var r = op.responses[code];
      var name = null;
      if (r.$ref) { name = refName(r.$ref); r = resolve(r.$ref) || {}; }
      var box = el("div", "resp");
      var d = el("details");
      d.open = single && code.charAt(0) === "2";
      var s = el("summary");
      add(s, el("span", "status s" + code.charAt(0), code), document.createTextNode(" " + (r.description || "") + (name ? " (" + name + ")" : "")));
      d.appendChild(s);
      var media = r.content && r.content["application/json"];
      if (media) d.appendChild(schemaBlock(media));
      box.appendChild(d);
      body.appendChild(box);
    });
    if (!single) body.appendChild(tryIt(path, method, op));
    det.appendChild(body);
    sec.appendChild(det);
    return sec;
  }

  function render() {
    var root = document.getElementById("app");
    root.textContent = "";
    var head = el("header", "top");
    var h1 = el("h1", null, doc.info.title);
    add(h1, el("span", "version", doc.info.version));
    add(head, h1, prose(doc.info.description), doc.externalDocs ? prose(doc.externalDocs.description + ".") : null,
      el("div", "desc", "OpenAPI " + doc.openapi + " · "));
    var raw = el("a", null, "openapi.json"); raw.href = "openapi.json";
    head.lastChild.appendChild(raw);
    root.appendChild(head);

    var layout = el("div", "layout");
    var nav = el("nav", "toc");
    var main = el("main");
    var schemes = (doc.components && doc.components.securitySchemes) || {};
    if (Object.keys(schemes).length) {
      add(main, el("h2", "tag", "Authentication"));
      var t = el("table");
      Object.keys(schemes).forEach(function (k) {
        var s = schemes[k];
        var how = s.type === "apiKey" ? "API key in " + s.in + " " + s.name : s.type + (s.scheme ? " " + s.scheme : "");
        add(t, add(el("tr"), el("td", "mono", k), el("td", null, how), el("td", null, s.description || "")));
      });
      main.appendChild(t);
    }
    var groups = {}, order = [];
    Object.keys(doc.paths || {}).forEach(function (path) {
      METHODS.forEach(function (m) {
        var op = doc.paths[path][m];
        if (!op) return;
        var tag = (op.tags && op.tags[0]) || "default";
        if (!groups[tag]) { groups[tag] = []; order.push(tag); }
        groups[tag].push([path, m, op]);
      });
    });
    var tagDesc = {};
    (doc.tags || []).forEach(function (t) { tagDesc[t.name] = t.description; });
    order.forEach(function (tag) {
      add(nav, el("h3", null, tag));
      add(main, el("h2", "tag", tag));
      if (tagDesc[tag]) main.appendChild(prose(tagDesc[tag]));
      groups[tag].forEach(function (g) {
        var sec = operation(g[0], g[1], g[2]);
        var a = el("a", null, g[1].toUpperCase() + " " + g[0]);
        a.href = "#" + sec.id;
        a.addEventListener("click", function () { var d = sec.querySelector("details"); if (d) d.open = true; });
        nav.appendChild(a);
        main.appendChild(sec);
      });
    });
    add(layout, nav, main);
    root.appendChild(layout);
    if (location.hash) {
      var target = document.getElementById(location.hash.slice(1));
      if (target) { var d = target.querySelector("details"); if (d) d.open = true; target.scrollIntoView(); }
    }
  }

  fetch("openapi.json", { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
    .then(function (d) { doc = d; document.title = d.info.title + (single ? " — reference" : " — API docs"); render(); })
    .catch(function (e) {
      var root = document.getElementById("app");
      root.textContent = "";
      add(root, el("div", "error", "Could not load openapi.json: " + e.message));
    });
})();
