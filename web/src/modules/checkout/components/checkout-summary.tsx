import type { Cart } from "@/lib/api/types";
import { formatPrice, itemCount } from "@/lib/format";

const PROBLEMS = { out_of_stock: "Out of stock now", insufficient_stock: "Fewer copies in stock than you want" } as const;

export function CheckoutSummary({ cart }: { cart: Cart }) {
  return (
    <section aria-labelledby="summary-heading" className="space-y-3 rounded border border-stone-200 bg-white p-4">
      <h2 id="summary-heading" className="text-lg font-semibold">Order summary</h2>
      <ul className="divide-y divide-stone-200 text-sm">
        {cart.items.map((l) => (
          <li key={l.book_id} className="flex justify-between gap-3 py-2" data-testid="checkout-line">
            <div>
              <p className="font-medium">{l.title}</p>
              <p className="text-stone-600">
                {l.quantity} × {formatPrice(l.unit_price_cents, l.currency)}
              </p>
              {l.problem && <p className="text-red-700">{PROBLEMS[l.problem]}</p>}
            </div>
            <p className="whitespace-nowrap">{formatPrice(l.line_total_cents, l.currency)}</p>
          </li>
        ))}
      </ul>
      <p className="flex justify-between border-t border-stone-200 pt-3 text-lg">
        <span>Subtotal ({itemCount(cart.item_count)})</span>
        <strong data-testid="checkout-subtotal">{formatPrice(cart.subtotal_cents, cart.currency)}</strong>
      </p>
    </section>
  );
}
