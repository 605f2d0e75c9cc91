// Ask the AI against the real model server: the picks are on screen before the first word of
// the explanation, the explanation arrives in several visible updates before the stream's
// `done`, and a thumbs up is saved: it survives a reload and counts in the admin statistics.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, screenshot, registerAndSignIn, signIn, uniqueEmail, admin, apiGet, apiToken } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// Watches the page from its first script: when the first pick appears, every change of the
// explanations' text, and when the answer's state becomes done. Times are performance.now().
const WATCH = () => {
  const log = { picks: null, updates: [], done: null };
  window.__ask = log;
  const seen = new Map();
  const check = () => {
    const t = performance.now();
    if (log.picks === null && document.querySelector('[data-testid="pick"]')) log.picks = t;
    document.querySelectorAll('[data-testid="explanation"]').forEach((el, i) => {
      const text = el.textContent ?? "";
      if (text !== "" && seen.get(i) !== text) {
        seen.set(i, text);
        log.updates.push({ t, i, length: text.length });
      }
    });
    const state = document.querySelector('[data-testid="ask-state"]')?.getAttribute("data-state");
    if (log.done === null && (state === "done" || state === "error")) log.done = { t, state };
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
};

test("the picks show before the first token, the explanation streams in visible updates, and a thumbs up persists", async () => {
  const email = uniqueEmail("asker");
  const upBefore = (await apiGet("/api/v1/admin/feedback/stats", await apiToken(admin.email, admin.password))).up;
  const { context, page } = await newPage(browser);
  try {
    await registerAndSignIn(page, email);
    await page.addInitScript(WATCH);
    await page.goto("/ask");
    await page.getByLabel("Describe what you feel like reading").fill("a gothic tale of a monster and its maker");
    await page.getByRole("button", { name: "Ask" }).click();
    await page.waitForFunction(() => window.__ask?.done !== null, null, { timeout: 240_000 });
    const log = await page.evaluate(() => window.__ask);
    assert.equal(log.done.state, "done", "the stream ended with done, not an error");
    assert.ok(log.picks !== null, "picks were shown");
    assert.ok(log.updates.length >= 2, `at least two visible updates of the explanation (got ${log.updates.length})`);
    assert.ok(log.picks <= log.updates[0].t, "the books were visible before the first token");
    const beforeDone = log.updates.filter((u) => u.t <= log.done.t);
    assert.ok(beforeDone.length >= 2, "two or more updates came before done");
    await screenshot(page, "ask");

    // Thumbs up on the first pick; it is saved, so a reload shows it pressed.
    const first = page.getByTestId("pick").first();
    const pickTitle = (await first.getByRole("heading").innerText()).trim();
    await first.getByRole("button", { name: "Good pick" }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="pick"] button[aria-pressed="true"]') !== null);
    await page.waitForLoadState("networkidle");
    await page.reload();
    const again = page.getByTestId("pick").filter({ hasText: pickTitle }).first();
    await again.getByRole("button", { name: "Good pick", pressed: true }).waitFor();
  } finally {
    await context.close();
  }

  // The vote counts in the admin statistics: the totals the page shows equal the service's,
  // which went up by one.
  const stats = await apiGet("/api/v1/admin/feedback/stats", await apiToken(admin.email, admin.password));
  assert.ok(stats.up >= upBefore + 1, `the service counted the vote (${upBefore} -> ${stats.up})`);
  const adminView = await newPage(browser);
  try {
    await signIn(adminView.page, admin.email, admin.password);
    await adminView.page.goto("/admin/feedback");
    await adminView.page.getByTestId("feedback-totals").filter({ hasText: `${stats.up} up` }).waitFor();
    await adminView.page.getByRole("img", { name: /^Votes per pipeline configuration/ }).waitFor();
    await screenshot(adminView.page, "admin-feedback");
  } finally {
    await adminView.context.close();
  }
});
