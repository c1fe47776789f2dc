// Renders /api/v1/openapi.json as a page: every operation with its parameters and responses. No dependencies.
(function () {
  "use strict";
  var here = document.currentScript.src;
  var specUrl = new URL("../../../api/v1/openapi.json", here).href;
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;  // text only: never HTML from the document
    if (cls) node.className = cls;
    return node;
  }
  function schemaText(schema) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    var text = schema.type || "object";
    if (schema.enum) text += " (" + schema.enum.join(" | ") + ")";
    if (schema.minimum !== undefined || schema.maximum !== undefined)
      text += " [" + (schema.minimum ?? "") + "…" + (schema.maximum ?? "") + "]";
    return text;
  }
  fetch(specUrl).then(function (r) { return r.json(); }).then(function (spec) {
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
          var table = el("table");
          var row = el("tr");
          ["name", "in", "type", "description"].forEach(function (h) { row.appendChild(el("th", h)); });
          table.appendChild(row);
          op.parameters.forEach(function (param) {
            var tr = el("tr");
            tr.appendChild(el("td", param.name + (param.required ? " *" : "")));
            tr.appendChild(el("td", param.in));
            tr.appendChild(el("td", schemaText(param.schema)));
            tr.appendChild(el("td", param.description || ""));
            table.appendChild(tr);
          });
          section.appendChild(table);
        }
        var list = el("ul", undefined, "responses");
        Object.keys(op.responses).forEach(function (status) {
          list.appendChild(el("li", status + " — " + (op.responses[status].description || "")));
        });
        section.appendChild(list);
        main.appendChild(section);
      });
    });
  }).catch(function (err) {
    document.getElementById("operations").textContent = "openapi.json: " + err;
  });
})();
