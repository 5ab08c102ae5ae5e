// The summary's Print button: without JavaScript it stays hidden, and the browser's own Print
// command prints the same page.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
});
