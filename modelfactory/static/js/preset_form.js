// Choosing a preset fills the advanced fields with its values, so what is shown is what will run.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-preset-form]");
  const source = document.getElementById("preset-values");
  if (!form || !source) return;
  const presets = JSON.parse(source.textContent);

  function apply(preset) {
    Object.entries(presets[preset]).forEach(([name, value]) => {
      const field = form.elements[name];
      if (!field) return;
      if (field.type === "checkbox") field.checked = Boolean(value);
      else field.value = value === null ? "" : value;
    });
    form.elements["shown_preset"].value = preset;
  }

  form.querySelectorAll("input[name=preset]").forEach((radio) => {
    radio.addEventListener("change", () => apply(radio.value));
  });
  // A preset chosen while the page was still loading, before this listener existed, is applied now.
  const checked = form.querySelector("input[name=preset]:checked");
  if (checked && checked.value !== form.elements["shown_preset"].value) apply(checked.value);
});
