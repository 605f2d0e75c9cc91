import { describe, expect, it } from "vitest";
import { applyCartChange, emptyCart } from "./optimistic";

const line = { book_id: "pg-84", title: "Frankenstein", authors: "Mary Shelley", cover_url: null, unit_price_cents: 500, currency: "USD", stock: 3 };

describe("applyCartChange", () => {
  it("adds a new book and counts it in the badge and subtotal", () => {
    const cart = applyCartChange(emptyCart(), { kind: "add", line, quantity: 2 });
    expect(cart.item_count).toBe(2);
    expect(cart.subtotal_cents).toBe(1000);
    expect(cart.checkout_ready).toBe(true);
  });

  it("adds to the quantity of a book already in the cart and flags more than the stock", () => {
    let cart = applyCartChange(undefined, { kind: "add", line, quantity: 2 });
    cart = applyCartChange(cart, { kind: "add", line, quantity: 2 });
    expect(cart.items).toHaveLength(1);
    expect(cart.items[0]?.quantity).toBe(4);
    expect(cart.items[0]?.problem).toBe("insufficient_stock");
    expect(cart.checkout_ready).toBe(false);
  });

  it("sets and removes lines", () => {
    let cart = applyCartChange(undefined, { kind: "add", line, quantity: 1 });
    cart = applyCartChange(cart, { kind: "set", bookId: "pg-84", quantity: 3 });
    expect(cart.subtotal_cents).toBe(1500);
    cart = applyCartChange(cart, { kind: "remove", bookId: "pg-84" });
    expect(cart).toMatchObject({ item_count: 0, subtotal_cents: 0, checkout_ready: false });
  });
});
