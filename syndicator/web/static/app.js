// syndicator dashboard: live text counters and change polling. Plain JavaScript, no build.
"use strict";

(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]').content;

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRF-Token": csrf},
      body: JSON.stringify(body),
    });
  }

  // The counter under each editable text: the SERVER measures it with the platform's rule.
  function watchText(area) {
    const id = Number(area.dataset.check);
    const counter = document.querySelector('[data-counter="' + id + '"]');
    const problems = document.querySelector('[data-problems="' + id + '"]');
    let timer = null;
    let sent = 0;
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(async function () {
        const ticket = ++sent;
        const response = await post("/api/check", {delivery: id, text: area.value});
        if (!response.ok || ticket !== sent) return;
        const check = await response.json();
        counter.querySelector(".length").textContent = check.length;
        counter.querySelector(".limit").textContent = check.limit;
        counter.classList.toggle("over", !check.ok);
        problems.replaceChildren(...check.problems.map(function (text) {
          const item = document.createElement("li");
          item.textContent = text;
          return item;
        }));
      }, 250);
    });
  }
  document.querySelectorAll("textarea[data-check]").forEach(watchText);

  // New posts without reloading: poll a version token; the queue swaps in fresh rows,
  // other pages (where someone may be typing) only say that something changed.
  const body = document.body;
  const every = Number(body.dataset.pollMs) || 3000;
  async function poll() {
    try {
      const response = await fetch("/api/version", {headers: {"Accept": "application/json"},
                                                    credentials: "same-origin"});
      if (!response.ok) return;
      const data = await response.json();
      if (!body.dataset.version || data.version === body.dataset.version) {
        body.dataset.version = body.dataset.version || data.version;
        return;
      }
      const queue = document.getElementById("queue");
      if (queue) {
        const page = await fetch("/?fragment=1", {credentials: "same-origin"});
        if (!page.ok) return;
        queue.innerHTML = await page.text();
        body.dataset.version = data.version;
      } else {
        document.getElementById("changed").hidden = false;
      }
    } finally {
      setTimeout(poll, every);
    }
  }
  setTimeout(poll, every);
})();
