// The administrator's bulk upload: a catalogue file chosen in the browser is uploaded, its
// progress shows live to completion, and its books are then found by the storefront's search.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { launch, newPage, screenshot, signIn, admin, artifacts } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("an admin uploads a catalogue file, follows its progress to the end, and its books become searchable", async () => {
  const tag = randomUUID().slice(0, 8);
  const word = `zephyrine${tag.replace(/[^a-z]/g, "")}`; // one made-up word, found only in these books
  const books = Array.from({ length: 25 }, (_, i) => ({
    id: `e2e-${tag}-${i}`,
    title: `The ${word} Lighthouse, Volume ${i + 1}`,
    authors: ["Keeper, Ada"],
    description: `A keeper of a remote ${word} lighthouse writes letters to the mainland about storms, ships and silence.`,
    genres: ["Sea stories"],
    language: "en",
  }));
  const file = join(artifacts, `upload-${tag}.jsonl`);
  writeFileSync(file, books.map((b) => JSON.stringify(b)).join("\n") + "\n");

  const { context, page } = await newPage(browser);
  try {
    await signIn(page, admin.email, admin.password);
    await page.goto("/admin/imports");
    await page.getByLabel("Catalogue file", { exact: true }).setInputFiles(file);
    await page.getByRole("button", { name: "Upload" }).click();
    const progress = page.getByTestId("import-progress");
    await progress.waitFor();
    // Live progress to the end: the import succeeds and every book gets its embedding.
    await page.locator('[data-testid="import-progress"][data-complete="true"]').waitFor({ timeout: 120_000 });
    assert.equal(await progress.getAttribute("data-state"), "succeeded");
    assert.equal((await progress.getByTestId("import-state").innerText()).trim(), "succeeded");
    assert.equal((await progress.getByTestId("rows-imported").innerText()).trim(), String(books.length));
    assert.equal((await progress.getByTestId("rows-failed").innerText()).trim(), "0");
    assert.match(await progress.getByTestId("embeddings").innerText(), new RegExp(`${books.length} of ${books.length}`));
    await screenshot(page, "admin-import");

    // The storefront's search finds them (the service's index follows the store's change feed).
    await page.goto(`/search?q=${encodeURIComponent(word)}`);
    const cards = page.getByTestId("book-card").filter({ hasText: word });
    await cards.first().waitFor();
    assert.ok((await cards.count()) >= Math.min(books.length, 20), "the uploaded books are in the results");

    await page.goto("/admin/jobs");
    await page.getByTestId("job-table").waitFor();
    await screenshot(page, "admin-jobs");
  } finally {
    await context.close();
  }
});
