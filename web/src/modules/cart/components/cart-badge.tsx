"use client";

import Link from "next/link";
import { useCart } from "../use-cart";

export function CartBadge() {
  const { data } = useCart();
  const count = data?.item_count ?? 0;
  return (
    <Link href="/cart" className="relative rounded px-3 py-2 hover:bg-stone-100" aria-label={`Cart, ${count} items`}>
      Cart <span data-testid="cart-count" className="ml-1 rounded-full bg-amber-700 px-2 py-0.5 text-sm text-white">{count}</span>
    </Link>
  );
}
