// The outbox screen: what is waiting, what was sent, and the conflicts and refusals the user must decide on.
import { claim, h, mount } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { discard, items, kick, resubmit } from "./outbox.js";

export async function renderOutbox(view, app) {
  const current = claim(view);
  const rows = (await items()).reverse();
  if (!current()) return;
  const redraw = () => renderOutbox(view, app);
  mount(
    view,
    h("h1", {}, t("outbox_title")),
    h(
      "div",
      { class: "actions" },
      h("button", { class: "btn secondary", id: "send-now", onclick: async () => (await kick(), redraw()) }, t("send_now")),
      h(
        "button",
        {
          class: "btn secondary",
          id: "sign-out",
          onclick: () => {
            const open = rows.some((r) => ["queued", "sending", "conflict", "failed"].includes(r.state));
            if (!open || window.confirm(t("sign_out_pending"))) document.getElementById("logout").submit();
          },
        },
        t("sign_out"),
      ),
    ),
    rows.length ? h("ul", { class: "outbox", id: "outbox" }, rows.map((r) => card(r, redraw))) : h("p", { class: "empty" }, t("outbox_empty")),
  );
}

function card(r, redraw) {
  const link = r.site_id != null ? `#/site/${r.site_id}` : r.result_site_id ? `#/site/${r.result_site_id}` : null;
  return h(
    "li",
    { class: `item state-${r.state}`, dataset: { id: r.id, state: r.state } },
    h(
      "div",
      { class: "item-head" },
      h("span", { class: `badge st-${r.state}` }, t(`st_${r.state}`)),
      h("strong", {}, t(`type_${r.kind}`)),
      " ",
      link ? h("a", { href: link }, r.site_name) : h("span", {}, r.site_name),
    ),
    yours(r),
    h("p", { class: "muted" }, `${t("created_at")}: ${formatTime(r.body.valid_at || r.created)}`),
    r.state === "flagged" && r.message ? h("p", { class: "warn-text" }, r.message) : null,
    r.state === "duplicate" ? h("p", { class: "muted" }, t("already_checked_in")) : null,
    r.state === "failed" ? h("p", { class: "error-text", role: "alert" }, r.error || "") : null,
    r.state === "conflict" ? conflict(r, redraw) : null,
    r.state === "failed"
      ? h("div", { class: "actions" }, h("button", { class: "btn danger", onclick: async () => (await discard(r.id), redraw()) }, t("discard")))
      : null,
  );
}

function yours(r) {
  const b = r.body || {};
  const lines = [];
  if (r.summary && r.summary.text) lines.push(h("li", {}, r.summary.text));
  const measures = r.summary && r.summary.measures ? r.summary.measures : Object.entries(b.measures || {}).map(([k, v]) => `${k}: ${v}`);
  for (const text of measures) lines.push(h("li", {}, text));
  if (b.note) lines.push(h("li", { class: "note" }, b.note));
  if (r.photos && r.photos.length) lines.push(h("li", {}, t("photos_chosen", { n: r.photos.length })));
  return h("ul", { class: "summary" }, lines);
}

function conflict(r, redraw) {
  const server = r.server.site.properties;
  const recent = (server.history || []).slice(-3).reverse();
  return h(
    "div",
    { class: "conflict", id: `conflict-${r.id}` },
    h("p", {}, t("conflict_explain")),
    h(
      "div",
      { class: "compare" },
      h("div", { class: "side mine" }, h("h3", {}, t("yours")), yours(r)),
      h(
        "div",
        { class: "side theirs" },
        h("h3", {}, t("theirs")),
        h("p", {}, h("strong", { class: "server-status" }, server.status_label), ` · ${t("version")} ${server.version}`),
        h(
          "ul",
          { class: "summary" },
          recent.map((e) => h("li", {}, `${formatTime(e.valid_at)} ${e.actor}: ${e.to_label || e.action}${e.note ? ` — ${e.note}` : ""}`)),
        ),
      ),
    ),
    h(
      "div",
      { class: "actions" },
      h("button", { class: "btn danger", "data-action": "discard", onclick: async () => (await discard(r.id), redraw()) }, t("discard_mine")),
      h("button", { class: "btn", "data-action": "resubmit", onclick: async () => (await resubmit(r.id), redraw()) }, t("submit_mine")),
    ),
  );
}
