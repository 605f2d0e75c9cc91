// The checkout form's pure logic: reading and checking the fields, building the request body,
// and turning a failed POST /api/v1/orders into what the shopper reads.
import { ApiError } from "@/lib/api/client";
import type { Cart } from "@/lib/api/types";
import type { CheckoutInput } from "@/lib/data/shop";

// The form's field names are the wire names (without "shipping." / "payment.").
export const FIELDS = ["name", "line1", "city", "postal_code", "country", "card_number", "exp_month", "exp_year", "cvc"] as const;
export type Field = (typeof FIELDS)[number];
export type Values = Record<Field, string>;
export type FieldErrors = Partial<Record<Field, string>>;

export function readValues(form: FormData): Values {
  const values = {} as Values;
  for (const f of FIELDS) values[f] = String(form.get(f) ?? "").trim();
  return values;
}

// "30" means 2030; four digits are taken as they are; anything else is not a year.
export function expiryYear(text: string): number | null {
  if (/^\d{2}$/.test(text)) return 2000 + Number(text);
  if (/^\d{4}$/.test(text)) return Number(text);
  return null;
}

const MAX_LENGTH: Partial<Record<Field, number>> = { name: 200, line1: 200, city: 100, postal_code: 20 };

// The same rules as the request schema, checked before sending so the messages sit next to the
// fields. Whether the card is valid, expired or approved is the service's call.
export function validate(v: Values): FieldErrors {
  const errors: FieldErrors = {};
  for (const f of ["name", "line1", "city", "postal_code"] as const) {
    const max = MAX_LENGTH[f] ?? 200;
    if (v[f] === "") errors[f] = "Required.";
    else if (v[f].length > max) errors[f] = `At most ${max} characters.`;
  }
  if (!/^[A-Za-z]{2}$/.test(v.country)) errors.country = "Use a two-letter country code, such as US.";
  const digits = v.card_number.replace(/[\s-]/g, "");
  if (!/^\d{12,19}$/.test(digits)) errors.card_number = "Enter the card number (12 to 19 digits).";
  const month = /^\d{1,2}$/.test(v.exp_month) ? Number(v.exp_month) : 0;
  if (month < 1 || month > 12) errors.exp_month = "Enter a month from 1 to 12.";
  const year = expiryYear(v.exp_year);
  if (year === null || year > 2200) errors.exp_year = "Enter the year, such as 2030.";
  if (!/^\d{3,4}$/.test(v.cvc)) errors.cvc = "3 or 4 digits.";
  return errors;
}

// Call only with values that passed validate().
export function toCheckoutInput(v: Values, expectedTotalCents: number | undefined): CheckoutInput {
  return {
    shipping: { name: v.name, line1: v.line1, city: v.city, postal_code: v.postal_code, country: v.country.toUpperCase() },
    payment: {
      card_number: v.card_number.replace(/[\s-]/g, ""),
      exp_month: Number(v.exp_month),
      exp_year: expiryYear(v.exp_year) ?? 0,
      cvc: v.cvc,
    },
    ...(expectedTotalCents === undefined ? {} : { expected_total_cents: expectedTotalCents }),
  };
}

// A service field name ("payment.card_number") as the form's field, when the form has it.
export function formField(serviceField: string): Field | undefined {
  const name = serviceField.replace(/^(shipping|payment)\./, "");
  return (FIELDS as readonly string[]).includes(name) ? (name as Field) : undefined;
}

// The books of the cart that an out-of-stock problem names ("not enough stock for: pg-84, pg-11; ...").
export function booksNamed(detail: string | undefined, cart: Cart | undefined): string[] {
  if (!detail || !cart) return [];
  const words = new Set(detail.split(/[\s,;:]+/));
  return cart.items.filter((l) => words.has(l.book_id)).map((l) => l.title);
}

export type Failure = {
  message: string;
  fields: FieldErrors;
  // Show a link back to the cart (what is in it is the problem).
  cartLink: boolean;
  // The cart query is out of date: refetch it so the summary shows the service's view.
  refreshCart: boolean;
  // The attempt's key cannot be used again.
  newKey: boolean;
  // The session ended: show a sign-in link.
  signIn: boolean;
};

export const failure = (message: string, more: Partial<Failure> = {}): Failure => ({
  message,
  fields: {},
  cartLink: false,
  refreshCart: false,
  newKey: false,
  signIn: false,
  ...more,
});

// "is required" → "Is required."
export function sentence(text: string): string {
  const t = text.trim();
  return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? "" : ".");
}

function quoted(titles: string[]): string {
  return titles.map((t) => `“${t}”`).join(", ");
}

export function checkoutFailure(err: unknown, cart: Cart | undefined): Failure {
  if (!(err instanceof ApiError)) {
    // fetch itself failed: the order may or may not have been made. The retry keeps the key.
    return failure("We could not reach the shop. Check your connection and press “Place order” again; you will not be charged twice.");
  }
  const p = err.problem;
  switch (p?.type) {
    case "/problems/payment-declined":
      return failure("Your card was declined. Nothing was charged. Please try another card.");
    case "/problems/payment-unavailable":
      return failure("The payment service is not available right now. Nothing was charged; please try again in a minute.");
    case "/problems/out-of-stock": {
      const titles = booksNamed(p.detail, cart);
      return failure(
        titles.length > 0
          ? `Sorry, there are not enough copies in stock of ${quoted(titles)}. Nothing was charged; your cart shows what is left.`
          : "Sorry, some books in your cart are out of stock or have fewer copies than you asked for. Nothing was charged.",
        { cartLink: true, refreshCart: true },
      );
    }
    case "/problems/price-changed":
      return failure("Prices changed since this page was loaded. Check the new total below and place the order again.", { refreshCart: true });
    case "/problems/cart-changed":
      return failure("Your cart changed while the order was being placed. Nothing was charged; review it and try again.", {
        cartLink: true,
        refreshCart: true,
      });
    case "/problems/cart-empty":
      return failure("Your cart is empty.", { cartLink: true, refreshCart: true });
    case "/problems/mixed-currency":
      return failure("Your cart holds books priced in different currencies; they have to be ordered separately.", { cartLink: true });
    case "/problems/idempotency-key-reused":
      return failure("This checkout was already used for different details. Please press “Place order” again.", { newKey: true });
    case "/problems/unauthenticated":
    case "/problems/invalid-token":
      return failure("Your session has ended. Please sign in again.", { signIn: true });
  }
  if (err.status === 401) return failure("Your session has ended. Please sign in again.", { signIn: true });
  const fields: FieldErrors = {};
  for (const e of p?.errors ?? []) {
    const f = formField(e.field);
    if (f && !fields[f]) fields[f] = sentence(e.message);
  }
  if (Object.keys(fields).length > 0) return failure("Please correct the marked fields.", { fields });
  if (err.status === 503) return failure("The shop is busy right now. Nothing was charged; please try again in a minute.");
  return failure(`Your order could not be placed. ${sentence(err.message)}`);
}
