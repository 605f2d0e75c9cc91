import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/client";
import type { Cart, Problem } from "@/lib/api/types";
import { booksNamed, checkoutFailure, expiryYear, formField, readValues, toCheckoutInput, validate, type Values } from "./checkout";

const good: Values = {
  name: "Ada Lovelace",
  line1: "12 St James's Square",
  city: "London",
  postal_code: "SW1Y 4JH",
  country: "gb",
  card_number: "4242 4242 4242 4242",
  exp_month: "12",
  exp_year: "2031",
  cvc: "123",
};

const line = (book_id: string, title: string) => ({
  book_id,
  title,
  authors: "",
  cover_url: null,
  unit_price_cents: 500,
  currency: "USD",
  quantity: 1,
  line_total_cents: 500,
  stock: 0,
  problem: null,
});
const cart: Cart = {
  items: [line("pg-84", "Frankenstein"), line("pg-8", "Dracula")],
  item_count: 2,
  subtotal_cents: 1000,
  currency: "USD",
  checkout_ready: true,
};

const problem = (status: number, type: Problem["type"], more: Partial<Problem> = {}) =>
  new ApiError(status, { type, title: "t", status, request_id: "r", ...more }, "failed");

describe("checkout form", () => {
  it("reads trimmed values", () => {
    const form = new FormData();
    form.set("name", "  Ada ");
    expect(readValues(form)).toMatchObject({ name: "Ada", city: "" });
  });

  it("accepts a complete form and builds the request body", () => {
    expect(validate(good)).toEqual({});
    expect(toCheckoutInput(good, 1000)).toEqual({
      shipping: { name: "Ada Lovelace", line1: "12 St James's Square", city: "London", postal_code: "SW1Y 4JH", country: "GB" },
      payment: { card_number: "4242424242424242", exp_month: 12, exp_year: 2031, cvc: "123" },
      expected_total_cents: 1000,
    });
    expect(toCheckoutInput(good, undefined)).not.toHaveProperty("expected_total_cents");
  });

  it("marks missing and malformed fields", () => {
    const errors = validate({ ...good, name: "", country: "USA", card_number: "4242-x", exp_month: "13", exp_year: "3", cvc: "12" });
    expect(Object.keys(errors).sort()).toEqual(["card_number", "country", "cvc", "exp_month", "exp_year", "name"]);
  });

  it("reads two- and four-digit expiry years", () => {
    expect(expiryYear("30")).toBe(2030);
    expect(expiryYear("2030")).toBe(2030);
    expect(expiryYear("203")).toBeNull();
  });

  it("maps the service's field names to the form's", () => {
    expect(formField("payment.card_number")).toBe("card_number");
    expect(formField("shipping.postal_code")).toBe("postal_code");
    expect(formField("shipping.line2")).toBeUndefined();
  });
});

describe("checkoutFailure", () => {
  it("says a declined card was declined and to try another", () => {
    const f = checkoutFailure(problem(402, "/problems/payment-declined", { detail: "the card was declined (card_declined)" }), cart);
    expect(f.message).toMatch(/declined/);
    expect(f.message).toMatch(/another card/);
    expect(f.newKey).toBe(false);
  });

  it("names the books that are out of stock and links to the cart", () => {
    const detail = "not enough stock for: pg-84; nothing was charged and the cart is unchanged";
    expect(booksNamed(detail, cart)).toEqual(["Frankenstein"]);
    const f = checkoutFailure(problem(409, "/problems/out-of-stock", { detail }), cart);
    expect(f.message).toContain("“Frankenstein”");
    expect(f.message).not.toContain("Dracula");
    expect(f).toMatchObject({ cartLink: true, refreshCart: true });
  });

  it("still explains an out-of-stock problem that names no book of the cart", () => {
    const f = checkoutFailure(problem(409, "/problems/out-of-stock", { detail: "not enough stock for: pg-1" }), cart);
    expect(f.message).toMatch(/out of stock/);
    expect(f.cartLink).toBe(true);
  });

  it("puts validation messages next to their fields", () => {
    const err = problem(400, "/problems/invalid-parameter", {
      detail: "card number is not valid",
      errors: [{ field: "payment.card_number", message: "card number is not valid" }],
    });
    const f = checkoutFailure(err, cart);
    expect(f.fields).toEqual({ card_number: "Card number is not valid." });
    expect(f.message).toMatch(/marked fields/);
  });

  it("shows a validation problem for a field the form lacks as the message", () => {
    const err = problem(400, "/problems/invalid-parameter", {
      detail: "is too long",
      errors: [{ field: "shipping.line2", message: "is too long" }],
    });
    const f = checkoutFailure(err, cart);
    expect(f.fields).toEqual({});
    expect(f.message).toContain("Is too long.");
  });

  it("keeps the key after a network error and drops it when the service refuses it", () => {
    const network = checkoutFailure(new TypeError("Failed to fetch"), cart);
    expect(network.newKey).toBe(false);
    expect(network.message).toMatch(/not be charged twice/);
    expect(checkoutFailure(problem(422, "/problems/idempotency-key-reused"), cart).newKey).toBe(true);
  });

  it("asks to sign in again when the session ended", () => {
    expect(checkoutFailure(problem(401, "/problems/unauthenticated"), cart).signIn).toBe(true);
  });
});
