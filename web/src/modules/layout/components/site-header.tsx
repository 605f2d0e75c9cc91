import Link from "next/link";
import { Suspense } from "react";
import { CartBadge } from "@/modules/cart/components/cart-badge";
import { SearchBox } from "@/modules/search/components/search-box";
import { AccountMenu } from "@/modules/account/components/account-menu";

export function SiteHeader() {
  return (
    <header className="border-b border-stone-200 bg-white">
      <nav aria-label="Main" className="mx-auto flex max-w-6xl flex-wrap items-center gap-3 px-4 py-3">
        <Link href="/" className="text-xl font-bold text-amber-800">
          Libro-Mind
        </Link>
        <div className="min-w-48 flex-1">
          <Suspense fallback={<div className="h-10 rounded border border-stone-300" />}>
            <SearchBox />
          </Suspense>
        </div>
        <Link href="/ask" className="rounded px-3 py-2 hover:bg-stone-100">
          Ask the AI
        </Link>
        <AccountMenu />
        <CartBadge />
      </nav>
    </header>
  );
}
