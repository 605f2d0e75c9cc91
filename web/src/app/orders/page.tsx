import type { Metadata } from "next";
import { OrdersList } from "@/modules/orders/components/orders-list";

export const metadata: Metadata = { title: "Your orders", robots: { index: false } };

export default function OrdersPage() {
  return <OrdersList />;
}
