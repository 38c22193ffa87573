// Choosing a preset fills the advanced fields with its values, so what is shown is what will run.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-preset-form]");
  const source = document.getElementById("preset-values");
  if (!form || !source) return;
  const presets = JSON.parse(source.textContent);
  form.querySelectorAll("input[name=preset]").forEach((radio) => {
    radio.addEventListener("change", () => {
      const values = presets[radio.value];
      Object.entries(values).forEach(([name, value]) => {
        const field = form.elements[name];
        if (!field) return;
        if (field.type === "checkbox") field.checked = Boolean(value);
        else field.value = value === null ? "" : value;
      });
      form.elements["shown_preset"].value = radio.value;
    });
  });
});
