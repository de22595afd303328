// The escalation inbox's live countdown. The page says "Frist kl. HH.MM" in words (enough
// without JavaScript); this adds the time left beside each deadline, counted from the
// server's time in the page (#inbox-live), not from the browser's clock alone: the
// difference between the two is measured once, when the page loads, and kept.
"use strict";

(function () {
  const island = document.getElementById("inbox-live");
  if (!island) {
    return;
  }
  const live = JSON.parse(island.textContent);
  const offset = Date.parse(live.serverTime) - Date.now(); // server minus browser, in ms
  const texts = live.texts;

  function span(ms) {
    const seconds = Math.floor(Math.abs(ms) / 1000);
    const hours = Math.floor(seconds / 3600);
    const minutes = Math.floor((seconds % 3600) / 60);
    const rest = seconds % 60;
    if (hours > 0) {
      return texts.hours.replace("{h}", hours).replace("{m}", minutes);
    }
    return texts.minutes.replace("{m}", minutes).replace("{s}", rest);
  }

  function tick() {
    const now = Date.now() + offset;
    for (const element of document.querySelectorAll("[data-deadline]")) {
      const left = Date.parse(element.dataset.deadline) - now;
      const countdown = element.querySelector(".countdown");
      if (!countdown) {
        continue;
      }
      countdown.textContent = (left > 0 ? texts.left : texts.overdue).replace("{time}", span(left));
      element.classList.toggle("deadline--overdue", left <= 0);
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
