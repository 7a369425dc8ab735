// Copy buttons: a one-time link goes to the clipboard in one tap. On a plain-http address
// (a LAN server) the async clipboard is missing, so the text is selected and copied the old way.
"use strict";
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const field = document.querySelector(button.dataset.copy);
  if (!field) return;
  field.select();
  let copied = false;
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(field.value);
      copied = true;
    }
  } catch (_) {
    copied = false;
  }
  if (!copied) copied = document.execCommand && document.execCommand("copy");
  if (copied) {
    const label = button.textContent;
    button.textContent = button.dataset.copied;
    setTimeout(() => { button.textContent = label; }, 2000);
  }
});
