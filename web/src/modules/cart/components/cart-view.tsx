"use client";

import Link from "next/link";
import { formatPrice, itemCount } from "@/lib/format";
import { Cover } from "@/modules/books/components/book-card";
import { useCart, useCartMutation } from "../use-cart";

const PROBLEMS = { out_of_stock: "Out of stock now", insufficient_stock: "Fewer copies in stock than you want" } as const;

export function CartView() {
  const { data: cart, isLoading, error } = useCart();
  const { mutate, message } = useCartMutation();
  if (isLoading) return <p>Loading your cart…</p>;
  if (error) return <p role="alert">Your cart could not be loaded: {error.message}</p>;
  const lines = cart?.items ?? [];
  return (
    <section aria-labelledby="cart-heading" className="space-y-4">
      <h1 id="cart-heading" className="text-2xl font-bold">Your cart</h1>
      <p role="status" aria-live="polite" className="min-h-6 text-sm">{message}</p>
      {lines.length === 0 ? (
        <p>Your cart is empty. <Link href="/" className="underline">Find a book</Link>.</p>
      ) : (
        <>
          <ul className="divide-y divide-stone-200 rounded border border-stone-200 bg-white">
            {lines.map((l) => (
              <li key={l.book_id} className="flex items-center gap-4 p-3" data-testid="cart-line">
                <Cover book={{ cover_url: l.cover_url, title: l.title }} />
                <div className="flex-1">
                  <Link href={`/books/${encodeURIComponent(l.book_id)}`} className="font-semibold hover:underline">{l.title}</Link>
                  <p className="text-sm text-stone-600">{l.authors}</p>
                  <p className="text-sm">{formatPrice(l.unit_price_cents, l.currency)} each</p>
                  {l.problem && <p className="text-sm text-red-700">{PROBLEMS[l.problem]}</p>}
                </div>
                <label className="text-sm">
                  Quantity{" "}
                  <select
                    value={l.quantity}
                    onChange={(e) => mutate({ kind: "set", bookId: l.book_id, quantity: Number(e.target.value) })}
                    className="rounded border px-2 py-1"
                  >
                    {Array.from({ length: Math.max(10, l.quantity) }, (_, i) => i + 1).map((n) => (
                      <option key={n} value={n}>{n}</option>
                    ))}
                  </select>
                </label>
                <p className="w-24 text-right font-medium">{formatPrice(l.line_total_cents, l.currency)}</p>
                <button type="button" onClick={() => mutate({ kind: "remove", bookId: l.book_id })} className="rounded px-2 py-1 text-sm text-red-700 hover:bg-red-50" aria-label={`Remove ${l.title}`}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
          <p className="text-right text-lg">
            Subtotal ({itemCount(cart?.item_count ?? 0)}): <strong data-testid="cart-subtotal">{formatPrice(cart?.subtotal_cents ?? 0, cart?.currency)}</strong>
          </p>
          <div className="flex flex-col items-end gap-1">
            {cart?.checkout_ready === false && <p className="text-sm text-red-700">Change or remove the marked books before checking out.</p>}
            <Link href="/checkout" className="rounded bg-amber-700 px-6 py-2 font-medium text-white hover:bg-amber-800">
              Checkout
            </Link>
          </div>
        </>
      )}
    </section>
  );
}
