import type { Metadata } from "next";
import { OrderDetail } from "@/modules/orders/components/order-detail";

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  return { title: `Order ${(await params).id}`, robots: { index: false } };
}

export default async function OrderPage({ params }: Props) {
  const { id } = await params;
  return <OrderDetail id={id} />;
}
