// The optimistic cart: an add shows at once; when the API refuses it (a failure injected by
// route interception, the only stubbed call in the suite) the cart rolls back, says why, and
// the badge ends at the real cart's count.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, screenshot, cartBadge } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test("an add the API refuses rolls back with a visible message and the badge equals the real cart", async () => {
  const { context, page } = await newPage(browser);
  try {
    // A first add goes through for real (an anonymous cart), so there is something to keep.
    await page.goto("/books/pg-84");
    await page.getByRole("button", { name: "Add to cart" }).click();
    await cartBadge(page, 1);

    // The next add is refused: 409 out of stock, as problem+json, after a delay that lets the
    // optimistic count show first.
    let refused = 0;
    await page.route("**/api/v1/cart/items", async (route) => {
      if (route.request().method() !== "POST") return route.continue();
      refused += 1;
      await new Promise((r) => setTimeout(r, 400));
      await route.fulfill({
        status: 409,
        contentType: "application/problem+json",
        body: JSON.stringify({
          type: "/problems/out-of-stock",
          title: "Out of stock",
          status: 409,
          detail: "pg-1342 is out of stock",
        }),
      });
    });
    await page.goto("/books/pg-1342");
    await cartBadge(page, 1);
    await page.getByRole("button", { name: "Add to cart" }).click();
    await cartBadge(page, 2);
    // Rolled back, with the reason shown.
    await page.getByRole("status").filter({ hasText: /stock/i }).first().waitFor();
    await cartBadge(page, 1);
    assert.equal(refused, 1);
    await screenshot(page, "cart-rolled-back");

    // The real cart agrees with the badge.
    await page.unroute("**/api/v1/cart/items");
    const cart = await page.evaluate(async () => (await fetch("/api/v1/cart")).json());
    assert.equal(cart.item_count, 1);
    assert.deepEqual(cart.items.map((l) => l.book_id), ["pg-84"]);
  } finally {
    await context.close();
  }
});
