// The print button of the printable agenda and summary (the CSP allows no inline handlers).
for (const button of document.querySelectorAll("[data-print]")) button.addEventListener("click", () => window.print());
