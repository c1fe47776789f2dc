// Renders /api/v1/openapi.json as a page: every operation with its parameters, its JSON body and its responses.
// No dependencies; the page's words come from its strings block (recovery/web/jsmessages.py, in the reader's
// language); the document's own texts are shown as text, never as HTML.
(function () {
  "use strict";
  var here = document.currentScript.src;
  var specUrl = new URL("../../../api/v1/openapi.json", here).href;
  var block = document.getElementById("strings");
  var STRINGS = block ? JSON.parse(block.textContent) : {};

  function t(key, params) {
    var text = STRINGS[key] || key;
    Object.keys(params || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(params[name]));
    });
    return text;
  }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text; // text only: never HTML from the document
    if (cls) node.className = cls;
    return node;
  }
  function schemaText(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.type === "array") return t("array_of", { item: schemaText(schema.items) || "—" });
    var text = schema.type || (schema.oneOf || schema.anyOf ? "" : "object");
    var choices = schema.oneOf || schema.anyOf;
    if (choices) text = choices.map(schemaText).join(" | ");
    if (schema.format) text += " (" + schema.format + ")";
    if (schema.enum) text += " (" + schema.enum.join(" | ") + ")";
    if (schema.minimum !== undefined || schema.maximum !== undefined)
      text += " [" + (schema.minimum ?? "") + "…" + (schema.maximum ?? "") + "]";
    if (schema.maxLength !== undefined) text += " ≤ " + schema.maxLength;
    return text;
  }
  function table(headings, rows) {
    var node = el("table");
    var head = el("tr");
    headings.forEach(function (h) { head.appendChild(el("th", h)); });
    node.appendChild(head);
    rows.forEach(function (cells) {
      var tr = el("tr");
      cells.forEach(function (cell) { tr.appendChild(el("td", cell)); });
      node.appendChild(tr);
    });
    return node;
  }
  function bodyTable(body) {
    var content = body && body.content && body.content["application/json"];
    var schema = content && content.schema;
    if (!schema || !schema.properties) return null;
    var required = schema.required || [];
    return table(
      [t("name"), t("type"), t("description")],
      Object.keys(schema.properties).map(function (name) {
        var field = schema.properties[name];
        var flag = required.indexOf(name) >= 0 ? " (" + t("required") + ")" : "";
        return [name + flag, schemaText(field), field.description || ""];
      }),
    );
  }
  fetch(specUrl)
    .then(function (r) { return r.json(); })
    .then(function (spec) {
      document.getElementById("title").textContent = spec.info.title;
      document.getElementById("description").textContent = spec.info.description || "";
      var main = document.getElementById("operations");
      main.textContent = "";
      var base = (spec.servers && spec.servers[0] && spec.servers[0].url) || "";
      Object.keys(spec.paths).forEach(function (path) {
        Object.keys(spec.paths[path]).forEach(function (method) {
          var op = spec.paths[path][method];
          var section = el("section", undefined, "op " + method);
          var head = el("h2");
          head.appendChild(el("span", method.toUpperCase(), "method"));
          head.appendChild(el("code", base + path));
          section.appendChild(head);
          section.appendChild(el("p", op.summary));
          if (op.description) section.appendChild(el("p", op.description, "roles"));
          if (op.parameters && op.parameters.length) {
            section.appendChild(
              table(
                [t("name"), t("in"), t("type"), t("description")],
                op.parameters.map(function (param) {
                  return [
                    param.name + (param.required ? " (" + t("required") + ")" : ""),
                    param.in,
                    schemaText(param.schema),
                    param.description || "",
                  ];
                }),
              ),
            );
          }
          var body = bodyTable(op.requestBody);
          if (body) {
            section.appendChild(el("h3", t("body")));
            section.appendChild(body);
          }
          section.appendChild(el("h3", t("responses")));
          var list = el("ul", undefined, "responses");
          Object.keys(op.responses).forEach(function (status) {
            list.appendChild(el("li", status + " — " + (op.responses[status].description || "")));
          });
          section.appendChild(list);
          main.appendChild(section);
        });
      });
    })
    .catch(function (err) {
      document.getElementById("operations").textContent = t("load_failed", { error: err });
    });
})();
