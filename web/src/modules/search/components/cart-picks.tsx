"use client";
// "Because of your cart": books near the cart's (recommendations with seed books, no
// explanation, so it costs no model call).
import { useQuery } from "@tanstack/react-query";
import type { SearchResponse } from "@/lib/api/types";
import { streamRecommendations } from "@/lib/data/recommendations";
import { BookCard } from "@/modules/books/components/book-card";
import { useCart } from "@/modules/cart/use-cart";

async function picksFor(seeds: string[]): Promise<SearchResponse | null> {
  for await (const ev of streamRecommendations({ seed_books: seeds, limit: 4, explain: false })) {
    if (ev.type === "results") return ev.data;
  }
  return null;
}

export function CartPicks() {
  const { data: cart } = useCart();
  const seeds = (cart?.items ?? []).map((l) => l.book_id).slice(0, 10);
  const { data } = useQuery({
    queryKey: ["cart-picks", seeds],
    queryFn: () => picksFor(seeds),
    enabled: seeds.length > 0,
    staleTime: 60_000,
  });
  if (!data || data.items.length === 0) return null;
  return (
    <section aria-labelledby="cart-picks">
      <h2 id="cart-picks" className="mb-3 text-xl font-semibold">Picked for your cart</h2>
      <div className="grid gap-3 md:grid-cols-2">
        {data.items.map((i) => (
          <BookCard key={i.book.id} book={i.book} />
        ))}
      </div>
    </section>
  );
}
