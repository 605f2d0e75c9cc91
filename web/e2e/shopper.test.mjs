// A shopper's journey through the real stack: find a book by describing it, open it, add it to
// the cart, check out with the test card, see the order with the right total, and the stock
// gone down. Plus the account pages: register, sign out, sign in, a wrong password.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, newPage, screenshot, registerAndSignIn, signIn, uniqueEmail, apiGet, apiToken, PASSWORD, cartBadge } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// The checkout form, with an address and the given test card.
async function fillCheckout(page, card) {
  await page.getByLabel("Full name").fill("Ann Reader");
  await page.getByLabel("Address").fill("1 Main St");
  await page.getByLabel("City").fill("Springfield");
  await page.getByLabel("Postal code").fill("12345");
  await page.getByLabel("Card number").fill(card);
  await page.getByLabel("Expiry month").fill("12");
  await page.getByLabel("Expiry year").fill("2030");
  await page.getByLabel("CVC").fill("123");
}

const cents = (text) => Math.round(Number(text.replace(/[^0-9.]/g, "")) * 100);

test("search, open a book, add it to the cart, check out with the test card: the order shows with the right total and the stock went down", async () => {
  const { context, page } = await newPage(browser);
  try {
    await registerAndSignIn(page, uniqueEmail("buyer"));

    // Describe it on the home page's search box.
    await page.goto("/");
    await page.getByLabel("Describe a book").fill("a whaling voyage and a captain hunting a white whale");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.waitForURL(/\/search\?/);
    const cards = page.getByTestId("book-card");
    await cards.first().waitFor();
    await screenshot(page, "search");

    // The first result in stock.
    const inStock = cards.filter({ hasText: / in stock/ }).first();
    const link = inStock.getByRole("link").first();
    const title = (await link.innerText()).trim();
    await link.click();
    await page.waitForURL(/\/books\//);
    const bookId = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    await page.getByRole("heading", { level: 1, name: title }).waitFor();
    const stockBefore = (await apiGet(`/api/v1/books/${encodeURIComponent(bookId)}`)).stock;
    assert.ok(stockBefore > 0, `${bookId} is in stock`);
    await screenshot(page, "book");

    await page.getByRole("button", { name: "Add to cart" }).click();
    await cartBadge(page, 1);

    await page.goto("/cart");
    const line = page.getByTestId("cart-line");
    await line.filter({ hasText: title }).waitFor();
    const subtotal = cents(await page.getByTestId("cart-subtotal").innerText());
    await screenshot(page, "cart");

    await page.getByRole("link", { name: /checkout/i }).click();
    await page.waitForURL(/\/checkout/);
    await fillCheckout(page, "4242 4242 4242 4242");
    await screenshot(page, "checkout");
    await page.getByRole("button", { name: "Place order" }).click();

    await page.waitForURL(/\/orders\/[^/]+$/);
    const orderPath = new URL(page.url()).pathname;
    const total = cents(await page.getByTestId("order-total").innerText());
    assert.equal(total, subtotal, "the order's total is the cart's subtotal");
    await page.getByText(title).first().waitFor();
    await cartBadge(page, 0);
    await screenshot(page, "order");

    // The history lists it, and the store sold one copy.
    await page.goto("/orders");
    await page.locator(`a[href="${orderPath}"]`).first().waitFor();
    await screenshot(page, "orders");
    const stockAfter = (await apiGet(`/api/v1/books/${encodeURIComponent(bookId)}`)).stock;
    assert.equal(stockAfter, stockBefore - 1);
  } finally {
    await context.close();
  }
});

test("a declined test card says so and places no order", async () => {
  const { context, page } = await newPage(browser);
  try {
    const email = uniqueEmail("declined");
    await registerAndSignIn(page, email);
    await page.goto("/books/pg-84");
    await page.getByRole("button", { name: "Add to cart" }).click();
    await cartBadge(page, 1);
    await page.goto("/checkout");
    await fillCheckout(page, "4000 0000 0000 0002");
    await page.getByRole("button", { name: "Place order" }).click();
    await page.getByRole("alert").filter({ hasText: /declined/i }).waitFor();
    assert.match(page.url(), /\/checkout/);
    await screenshot(page, "checkout-declined");
    const orders = await apiGet("/api/v1/orders", await apiToken(email, PASSWORD));
    assert.equal(orders.items.length, 0, "no order was placed");
  } finally {
    await context.close();
  }
});

test("register, sign out, sign in again; a wrong password is refused with a message", async () => {
  const { context, page } = await newPage(browser);
  try {
    const email = uniqueEmail("account");
    await registerAndSignIn(page, email);
    await page.getByTestId("signed-in-as").filter({ hasText: email }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("link", { name: "Sign in" }).waitFor();

    await page.goto("/login");
    await page.getByLabel("E-mail").fill(email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "Wrong e-mail or password." }).waitFor();
    await screenshot(page, "login-refused");

    await signIn(page, email, PASSWORD);
    await page.getByTestId("signed-in-as").filter({ hasText: email }).waitFor();
  } finally {
    await context.close();
  }
});
