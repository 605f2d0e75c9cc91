"use client";

import type { BookSummary } from "@/lib/api/types";
import { authorNames } from "@/lib/format";
import { useCartMutation } from "../use-cart";

export function AddToCart({ book }: { book: BookSummary }) {
  const { mutate, isPending, message } = useCartMutation();
  return (
    <div>
      <button
        type="button"
        disabled={!book.in_stock}
        onClick={() =>
          mutate({
            kind: "add",
            quantity: 1,
            line: {
              book_id: book.id,
              title: book.title,
              authors: authorNames(book.authors),
              cover_url: book.cover_url,
              unit_price_cents: book.price_cents,
              currency: book.currency,
              stock: book.stock,
            },
          })
        }
        className="rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800 disabled:cursor-not-allowed disabled:bg-stone-400"
      >
        {book.in_stock ? (isPending ? "Adding…" : "Add to cart") : "Out of stock"}
      </button>
      <p role="status" aria-live="polite" className="mt-2 min-h-6 text-sm text-stone-700">
        {message}
      </p>
    </div>
  );
}
