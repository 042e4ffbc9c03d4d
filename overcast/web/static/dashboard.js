// Small enhancements over server-rendered pages; everything works without them.
"use strict";
document.documentElement.classList.add("js");

function followConsoles(root) {
  for (const pre of root.querySelectorAll("pre[data-follow]")) {
    pre.scrollTop = pre.scrollHeight;
  }
}

document.addEventListener("DOMContentLoaded", () => followConsoles(document));
document.addEventListener("htmx:afterSettle", (event) => followConsoles(event.target.parentNode || document));

// the project picker switches on change
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.form) select.form.requestSubmit();
});

// an upload's progress, from htmx's XHR progress events
document.addEventListener("htmx:xhr:progress", (event) => {
  const form = event.target.closest("form");
  const bar = form && form.querySelector("progress");
  if (!bar || !event.detail.lengthComputable) return;
  bar.hidden = false;
  bar.value = Math.round((100 * event.detail.loaded) / event.detail.total);
});
