"use client";

import Link from "next/link";
import { useState } from "react";
import { ApiError } from "@/lib/api/client";
import type { Order } from "@/lib/api/types";
import { formatDate, formatPrice, itemCount } from "@/lib/format";
import { useUser } from "@/modules/account/use-user";
import { useJustPlaced } from "../just-placed";
import { STATUS_LABELS, canCancel, cancelErrorMessage } from "../status";
import { useCancelOrder, useOrder } from "../use-orders";
import { SignInNotice } from "./sign-in-notice";

export function OrderDetail({ id }: { id: string }) {
  const { data: user, isLoading: userLoading } = useUser();
  const { data: order, error, isPending } = useOrder(id, Boolean(user));
  const justPlaced = useJustPlaced(id);
  // Here rather than in <CancelOrder>, so that its message outlives the button (a cancel that
  // lost to a status change refetches the order, and the button goes away).
  const cancel = useCancelOrder(id);
  const status = error instanceof ApiError ? error.status : undefined;

  if (userLoading) return <p>Loading…</p>;
  if (!user || status === 401) return <SignInNotice next={`/orders/${encodeURIComponent(id)}`} what="this order" />;
  if (status === 404 || status === 400) {
    return (
      <section className="space-y-2">
        <h1 className="text-2xl font-bold">Order not found</h1>
        <p role="alert">We could not find order {id} in your account. <Link href="/orders" className="underline">See your order history</Link>.</p>
      </section>
    );
  }
  if (error && !order) return <p role="alert">The order could not be loaded: {error.message}</p>;
  if (isPending || !order) return <p>Loading the order…</p>;

  return (
    <article aria-labelledby="order-heading" className="space-y-6">
      {justPlaced && order.status !== "cancelled" && (
        <p role="status" className="rounded border border-green-300 bg-green-50 p-3 text-green-900">
          Thank you for your order! We have received your payment and will send the books soon.
        </p>
      )}
      <div className="space-y-1">
        <h1 id="order-heading" className="text-2xl font-bold">Order {order.id}</h1>
        <p className="text-stone-600">
          Placed {formatDate(order.created_at)} · Status: <strong data-testid="order-status" className="text-stone-900">{STATUS_LABELS[order.status]}</strong>
        </p>
      </div>
      <table className="w-full border border-stone-200 bg-white text-left">
        <caption className="sr-only">Books in this order</caption>
        <thead className="bg-stone-50 text-sm">
          <tr>
            <th scope="col" className="p-3">Book</th>
            <th scope="col" className="p-3 text-right">Quantity</th>
            <th scope="col" className="p-3 text-right">Price</th>
            <th scope="col" className="p-3 text-right">Total</th>
          </tr>
        </thead>
        <tbody className="divide-y divide-stone-200">
          {order.lines.map((l) => (
            <tr key={l.book_id} data-testid="order-line">
              <td className="p-3">
                <Link href={`/books/${encodeURIComponent(l.book_id)}`} className="hover:underline">{l.title}</Link>
              </td>
              <td className="p-3 text-right">{l.quantity}</td>
              <td className="p-3 text-right">{formatPrice(l.unit_price_cents, order.currency)}</td>
              <td className="p-3 text-right">{formatPrice(l.line_total_cents, order.currency)}</td>
            </tr>
          ))}
        </tbody>
        <tfoot>
          <tr className="border-t border-stone-300 text-lg">
            <th scope="row" colSpan={3} className="p-3 text-right">Total ({itemCount(order.item_count)})</th>
            <td className="p-3 text-right font-semibold" data-testid="order-total">{formatPrice(order.total_cents, order.currency)}</td>
          </tr>
        </tfoot>
      </table>
      <div className="grid gap-6 sm:grid-cols-2">
        <section aria-labelledby="shipping-heading">
          <h2 id="shipping-heading" className="font-semibold">Shipping to</h2>
          <address className="not-italic" data-testid="order-shipping">
            {order.shipping.name}
            <br />
            {order.shipping.line1}
            {order.shipping.line2 && (<><br />{order.shipping.line2}</>)}
            <br />
            {order.shipping.postal_code} {order.shipping.city}
            <br />
            {order.shipping.country}
          </address>
        </section>
        <section aria-labelledby="payment-heading">
          <h2 id="payment-heading" className="font-semibold">Payment</h2>
          <p>Card ending in {order.payment.card_last4}</p>
        </section>
      </div>
      {canCancel(order.status) && <CancelOrder order={order} cancel={cancel} />}
      <p role="alert" className="text-sm text-red-700">{cancel.error ? cancelErrorMessage(cancel.error) : null}</p>
      <p role="status" aria-live="polite">{order.status === "cancelled" ? "This order was cancelled. Any payment has been refunded." : null}</p>
      <p>
        <Link href="/orders" className="underline">Back to your order history</Link>
      </p>
    </article>
  );
}

function CancelOrder({ order, cancel }: { order: Order; cancel: ReturnType<typeof useCancelOrder> }) {
  const [confirming, setConfirming] = useState(false);
  return (
    <div className="space-y-2">
      {confirming ? (
        <>
          <p>Cancel this order? The payment of {formatPrice(order.total_cents, order.currency)} is refunded.</p>
          <div className="flex gap-2">
            <button
              type="button"
              disabled={cancel.isPending}
              onClick={() => cancel.mutate(undefined, { onSettled: () => setConfirming(false) })}
              className="rounded bg-red-700 px-4 py-2 font-medium text-white hover:bg-red-800 disabled:bg-stone-400"
            >
              Yes, cancel the order
            </button>
            <button type="button" onClick={() => setConfirming(false)} className="rounded border border-stone-300 px-4 py-2 hover:bg-stone-100">
              Keep the order
            </button>
          </div>
        </>
      ) : (
        <button type="button" onClick={() => setConfirming(true)} className="rounded border border-red-700 px-4 py-2 text-red-700 hover:bg-red-50">
          Cancel order
        </button>
      )}
    </div>
  );
}
