// The daily report's copy button: the bulletin to the clipboard (navigator.clipboard, or a selection and
// execCommand where the page is not a secure context), with a visible confirmation. The strings come from the
// catalogues (recovery/web/jsmessages.py REPORTS), sent in the page.
(function () {
  "use strict";
  const strings = JSON.parse(document.getElementById("strings").textContent);
  const t = (key) => strings[key] ?? key;
  const button = document.getElementById("copy-bulletin");
  const bulletin = document.getElementById("bulletin");
  const status = document.getElementById("copy-status");
  if (!button || !bulletin) return;
  button.textContent = t("copy");
  button.hidden = false;

  function bySelection(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let done = false;
    try {
      done = document.execCommand("copy");
    } catch (e) {
      done = false;
    }
    area.remove();
    return done;
  }

  function show(ok) {
    status.textContent = ok ? t("copied") : t("copy_failed");
    status.className = ok ? "copied" : "copy-failed";
    if (!ok) window.getSelection().selectAllChildren(bulletin);
  }

  button.addEventListener("click", () => {
    const text = bulletin.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        () => show(true),
        () => show(bySelection(text))
      );
    } else {
      show(bySelection(text));
    }
  });
})();
