// Small behaviours declared in markup, so that no page needs an inline handler: the
// Content-Security-Policy (modelfactory/content_security_policy.py) refuses to run those.
//   data-select-on-click              a read-only field selects its whole text when clicked
//   data-check-all="<css selector>"   a checkbox that ticks or clears every box the selector matches
document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Element)) return;
  if (target.matches("[data-select-on-click]")) target.select();
  if (target.matches("[data-check-all]")) {
    document.querySelectorAll(target.dataset.checkAll).forEach((box) => {
      box.checked = target.checked;
    });
  }
});
