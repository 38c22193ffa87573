// Shows only the fieldset of the chosen row kind in forms marked data-kind-form.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("form[data-kind-form]").forEach((form) => {
    const select = form.querySelector("select[name=kind]");
    const sync = () => form.querySelectorAll("fieldset[data-kind]").forEach((set) => {
      set.hidden = set.dataset.kind !== select.value;
    });
    select.addEventListener("change", sync);
    sync();
  });
});
