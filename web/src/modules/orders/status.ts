// Order states as the shopper reads them, and what a customer may do in each (docs/shop.md).
import { ApiError } from "@/lib/api/client";
import type { Order } from "@/lib/api/types";

export type OrderStatus = Order["status"];

export const STATUS_LABELS: Record<OrderStatus, string> = {
  pending: "Pending",
  paid: "Paid",
  shipped: "Shipped",
  delivered: "Delivered",
  cancelled: "Cancelled",
};

// A customer may cancel their own order while it is pending or paid.
export function canCancel(status: OrderStatus): boolean {
  return status === "pending" || status === "paid";
}

export function cancelErrorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.type === "/problems/invalid-status-transition" || err.status === 409) return "This order can no longer be cancelled.";
    if (err.status === 401) return "Your session has ended. Please sign in again.";
    return `The order could not be cancelled: ${err.message}`;
  }
  return "The order could not be cancelled: the shop could not be reached. Please try again.";
}
