// The cause of limb spasticity is asked only while limb spasticity is ticked. Without this
// file the question shows to everyone, and the server forgets the cause of a patient who is
// not treated for limb spasticity.
document.addEventListener("DOMContentLoaded", () => {
  const question = document.querySelector("[data-spasticity-cause]");
  const box = document.querySelector("input[name=conditions][value=limb_spasticity]");
  if (!question || !box) return;
  const update = () => { question.hidden = !box.checked; };
  box.addEventListener("change", update);
  update();
});
