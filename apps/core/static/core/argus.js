/* Argus page behaviour on top of htmx. No build step; loaded with defer after htmx. */
(function () {
  "use strict";

  var loginPath = document.body.getAttribute("data-login-url") || "/accounts/login/";

  // A polled fragment whose session expired comes back as the login page (the redirect is
  // followed by the browser). Swapping that into the job card would nest a login form in
  // the page, so go to the login page properly and come back here afterwards.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (!xhr || !xhr.responseURL) {
      return;
    }
    if (new URL(xhr.responseURL).pathname === loginPath) {
      event.detail.shouldSwap = false;
      window.location.assign(loginPath + "?next=" + encodeURIComponent(window.location.pathname));
    }
  });

  // Polling keeps going through errors; say so on the element instead of failing silently.
  // The next successful swap replaces the element, and with it the marker.
  function markStale(event) {
    var target = event.detail.elt;
    if (target && target.hasAttribute("hx-trigger")) {
      target.setAttribute("data-stale", "true");
    }
  }
  document.body.addEventListener("htmx:responseError", markStale);
  document.body.addEventListener("htmx:sendError", markStale);

  // Live count of the lines an embedding job will contain.
  function countLines(textarea, output) {
    var count = textarea.value.split(/\r?\n/).filter(function (line) {
      return line.trim() !== "";
    }).length;
    output.textContent = count + (count === 1 ? " text" : " texts");
  }
  document.querySelectorAll("textarea[data-line-counter]").forEach(function (textarea) {
    var output = document.getElementById(textarea.getAttribute("data-line-counter"));
    if (!output) {
      return;
    }
    textarea.addEventListener("input", function () {
      countLines(textarea, output);
    });
    countLines(textarea, output);
  });
})();
