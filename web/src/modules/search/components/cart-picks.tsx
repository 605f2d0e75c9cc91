"use client";
// Picks for the shopper: books near the cart's, or, with an empty cart, near those of a signed-in
// shopper's recent orders (recommendations with seed books and no explanation, so no model call).
import { useQuery } from "@tanstack/react-query";
import type { SearchResponse } from "@/lib/api/types";
import { streamRecommendations } from "@/lib/data/recommendations";
import { getOrder, listOrders } from "@/lib/data/shop";
import { useUser } from "@/modules/account/use-user";
import { BookCard } from "@/modules/books/components/book-card";
import { useCart } from "@/modules/cart/use-cart";

async function picksFor(seeds: string[]): Promise<SearchResponse | null> {
  for await (const ev of streamRecommendations({ seed_books: seeds, limit: 4, explain: false })) {
    if (ev.type === "results") return ev.data;
  }
  return null;
}

// The books of the three most recent orders, newest first, at most 10.
async function orderedBooks(): Promise<string[]> {
  const recent = (await listOrders()).items.slice(0, 3);
  const orders = await Promise.all(recent.map((o) => getOrder(o.id)));
  return [...new Set(orders.flatMap((o) => o.lines.map((l) => l.book_id)))].slice(0, 10);
}

export function CartPicks() {
  const { data: cart } = useCart();
  const { data: user } = useUser();
  const cartSeeds = (cart?.items ?? []).map((l) => l.book_id).slice(0, 10);
  const fromHistory = cart !== undefined && cartSeeds.length === 0 && !!user;
  const { data: historySeeds } = useQuery({
    queryKey: ["history-seeds", user?.id],
    queryFn: orderedBooks,
    enabled: fromHistory,
    staleTime: 60_000,
  });
  const seeds = fromHistory ? (historySeeds ?? []) : cartSeeds;
  const { data } = useQuery({
    queryKey: ["cart-picks", seeds],
    queryFn: () => picksFor(seeds),
    enabled: seeds.length > 0,
    staleTime: 60_000,
  });
  if (seeds.length === 0 || !data || data.items.length === 0) return null;
  return (
    <section aria-labelledby="cart-picks">
      <h2 id="cart-picks" className="mb-3 text-xl font-semibold">{fromHistory ? "Picked from your orders" : "Picked for your cart"}</h2>
      <div className="grid gap-3 md:grid-cols-2">
        {data.items.map((i) => (
          <BookCard key={i.book.id} book={i.book} />
        ))}
      </div>
    </section>
  );
}
