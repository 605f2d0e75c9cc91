// The optimistic cart: what the cart will look like once a change lands, computed from the cart
// the page has (Vercel Commerce's cart reducer). The server's answer replaces it on settle.
import type { Cart, CartLine } from "@/lib/api/types";

export type CartChange =
  | {
      kind: "add";
      line: Pick<CartLine, "book_id" | "title" | "authors" | "cover_url" | "unit_price_cents" | "currency" | "stock">;
      quantity: number;
    }
  | { kind: "set"; bookId: string; quantity: number }
  | { kind: "remove"; bookId: string };

export const emptyCart = (): Cart => ({
  items: [],
  item_count: 0,
  subtotal_cents: 0,
  currency: "USD",
  checkout_ready: false,
});

function totals(items: CartLine[], currency: string): Cart {
  const item_count = items.reduce((n, l) => n + l.quantity, 0);
  const subtotal_cents = items.reduce((n, l) => n + l.line_total_cents, 0);
  return {
    items,
    item_count,
    subtotal_cents,
    currency,
    checkout_ready: items.length > 0 && items.every((l) => l.problem === null),
  };
}

function withQuantity(line: CartLine, quantity: number): CartLine {
  const problem = line.stock <= 0 ? "out_of_stock" : quantity > line.stock ? "insufficient_stock" : null;
  return { ...line, quantity, line_total_cents: line.unit_price_cents * quantity, problem };
}

export function applyCartChange(cart: Cart | undefined, change: CartChange): Cart {
  const base = cart ?? emptyCart();
  let items = base.items;
  switch (change.kind) {
    case "add": {
      const existing = items.find((l) => l.book_id === change.line.book_id);
      if (existing) {
        items = items.map((l) => (l === existing ? withQuantity(l, l.quantity + change.quantity) : l));
      } else {
        const line: CartLine = { ...change.line, quantity: 0, line_total_cents: 0, problem: null };
        items = [...items, withQuantity(line, change.quantity)];
      }
      break;
    }
    case "set":
      items = items.map((l) => (l.book_id === change.bookId ? withQuantity(l, change.quantity) : l));
      break;
    case "remove":
      items = items.filter((l) => l.book_id !== change.bookId);
      break;
  }
  return totals(items, base.items.length > 0 ? base.currency : (items[0]?.currency ?? base.currency));
}
