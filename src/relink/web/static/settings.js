// Settings pages' small behaviours. A file of its own: the CSP runs no inline script.
(function () {
  // "Copy" beside a signing secret shown once.
  const copy = document.getElementById("copy-secret");
  if (copy) {
    copy.addEventListener("click", async function () {
      const status = document.getElementById("copy-status");
      try {
        await navigator.clipboard.writeText(document.getElementById("signing-secret").textContent.trim());
        status.textContent = "Copied to the clipboard.";
      } catch (e) {
        status.textContent = "Select the secret and copy it with Ctrl+C (⌘C on a Mac).";
      }
    });
  }

  // The new-user form shows only the fields of the chosen role.
  const newUser = document.getElementById("new-user");
  if (newUser) {
    const show = function () {
      const role = newUser.querySelector('input[name="role"]:checked');
      newUser.querySelectorAll("[data-for-role]").forEach(function (part) {
        part.hidden = !role || part.dataset.forRole !== role.value;
      });
    };
    newUser.addEventListener("change", show);
    show();
  }

  // Forms that destroy something ask first: <form data-confirm="Question?">.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
})();
