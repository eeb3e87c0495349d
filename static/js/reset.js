// The reset e-mail's link carries the tenant and the code in its fragment (#tenant=…&token=…), which the
// browser never sends to a server (so no access log holds it): move them into the form, then drop the
// fragment from the address bar and history.
(function () {
  "use strict";
  const form = document.getElementById("reset-form");
  if (!form || !window.location.hash) return;
  const values = new URLSearchParams(window.location.hash.slice(1));
  const tenant = values.get("tenant");
  const token = values.get("token");
  if (tenant) form.querySelector("[name=tenant]").value = tenant;
  if (token) form.querySelector("[name=reset]").value = token;
  history.replaceState(null, "", window.location.pathname);
  if (token) form.querySelector("[name=password]").focus();
})();
