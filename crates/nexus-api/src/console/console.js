// Search as you type: what is typed in a search field with `data-source` is
// sent there as `q` after a short pause, and the answer (HTML made by the
// server) replaces the element named by `data-results`. Without this script
// the search form is submitted as usual.
for (const input of document.querySelectorAll("input[data-source]")) {
  const target = document.getElementById(input.dataset.results);
  let timer;
  let controller;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      controller?.abort();
      controller = new AbortController();
      const query = "?q=" + encodeURIComponent(input.value);
      try {
        const response = await fetch(input.dataset.source + query, {
          signal: controller.signal,
          credentials: "same-origin",
        });
        if (response.redirected) {
          // The session ended: the answer is the sign-in page.
          window.location.assign(response.url);
          return;
        }
        target.innerHTML = await response.text();
        window.history.replaceState(null, "", query);
      } catch (error) {
        if (error.name !== "AbortError") {
          target.textContent = "The search failed: " + error.message;
        }
      }
    }, 200);
  });
}
