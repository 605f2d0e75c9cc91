"use client";

import Link from "next/link";
import { ApiError } from "@/lib/api/client";
import { formatDate, formatPrice, itemCount } from "@/lib/format";
import { useUser } from "@/modules/account/use-user";
import { STATUS_LABELS } from "../status";
import { useOrders } from "../use-orders";
import { SignInNotice } from "./sign-in-notice";

export function OrdersList() {
  const { data: user, isLoading: userLoading } = useUser();
  const orders = useOrders(Boolean(user));
  const signedOut = (!userLoading && !user) || (orders.error instanceof ApiError && orders.error.status === 401);
  const items = orders.data?.pages.flatMap((p) => p.items) ?? [];

  return (
    <section aria-labelledby="orders-heading" className="space-y-4">
      <h1 id="orders-heading" className="text-2xl font-bold">Your orders</h1>
      {signedOut ? (
        <SignInNotice next="/orders" what="your orders" />
      ) : userLoading || orders.isPending ? (
        <p>Loading your orders…</p>
      ) : orders.error && items.length === 0 ? (
        <p role="alert">Your orders could not be loaded: {orders.error.message}</p>
      ) : items.length === 0 ? (
        <p>You have not ordered anything yet. <Link href="/" className="underline">Find a book</Link>.</p>
      ) : (
        <>
          <ul className="divide-y divide-stone-200 rounded border border-stone-200 bg-white">
            {items.map((o) => (
              <li key={o.id} data-testid="order-row">
                <Link href={`/orders/${encodeURIComponent(o.id)}`} className="flex flex-wrap items-center gap-x-6 gap-y-1 p-3 hover:bg-stone-50">
                  <span className="font-semibold">Order {o.id}</span>
                  <span className="text-sm text-stone-600">{formatDate(o.created_at)}</span>
                  <span className="text-sm" data-testid="order-status">{STATUS_LABELS[o.status]}</span>
                  <span className="text-sm text-stone-600">{itemCount(o.item_count)}</span>
                  <span className="ml-auto font-medium">{formatPrice(o.total_cents, o.currency)}</span>
                </Link>
              </li>
            ))}
          </ul>
          {orders.isFetchNextPageError && <p role="alert" className="text-sm text-red-700">Older orders could not be loaded. Please try again.</p>}
          {orders.hasNextPage && (
            <button
              type="button"
              onClick={() => void orders.fetchNextPage()}
              disabled={orders.isFetchingNextPage}
              className="rounded border border-stone-300 px-4 py-2 hover:bg-stone-100 disabled:text-stone-400"
            >
              {orders.isFetchingNextPage ? "Loading…" : "Show older orders"}
            </button>
          )}
        </>
      )}
    </section>
  );
}
