// The ⋯ row menus are <details> (they open without JavaScript); this adds the keys people
// expect of a menu: arrows move, Home/End jump, Escape closes and returns focus, one open at a time.
(function () {
  "use strict";
  const menus = () => document.querySelectorAll("details.row-menu");
  const items = (menu) => Array.from(menu.querySelectorAll('[role="menuitem"]'));

  function close(menu, refocus) {
    if (!menu.open) return;
    menu.open = false;
    if (refocus) menu.querySelector("summary").focus();
  }

  function move(menu, step) {
    const list = items(menu);
    if (!list.length) return;
    const at = list.indexOf(document.activeElement);
    const next = at < 0 ? (step > 0 ? 0 : list.length - 1) : (at + step + list.length) % list.length;
    list[next].focus();
  }

  function wire(menu) {
    const summary = menu.querySelector("summary");
    summary.setAttribute("aria-expanded", "false");
    menu.addEventListener("toggle", () => {
      summary.setAttribute("aria-expanded", String(menu.open));
      if (!menu.open) return;
      menus().forEach((other) => { if (other !== menu) close(other, false); });
      // Keyboard users land on the first action, as with any menu button.
      if (menu.dataset.byKey === "1") { const first = items(menu)[0]; if (first) first.focus(); }
      menu.dataset.byKey = "";
    });
    summary.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") menu.dataset.byKey = "1";
      if ((event.key === "ArrowDown" || event.key === "ArrowUp") && !menu.open) {
        event.preventDefault();
        menu.dataset.byKey = "1";
        menu.open = true;
      }
    });
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); close(menu, true); return; }
      if (!menu.open || event.target === summary) {
        if (menu.open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
          event.preventDefault(); move(menu, event.key === "ArrowDown" ? 1 : -1);
        }
        return;
      }
      const keys = { ArrowDown: 1, ArrowUp: -1 };
      if (event.key in keys) { event.preventDefault(); move(menu, keys[event.key]); }
      else if (event.key === "Home") { event.preventDefault(); items(menu)[0].focus(); }
      else if (event.key === "End") { event.preventDefault(); items(menu).slice(-1)[0].focus(); }
    });
    menu.addEventListener("focusout", (event) => {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) close(menu, false);
    });
  }

  document.addEventListener("click", (event) => {
    menus().forEach((menu) => { if (!menu.contains(event.target)) close(menu, false); });
  });
  menus().forEach(wire);
})();
