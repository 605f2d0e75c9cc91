"use client";
// Places the order. On success the new order goes into the query cache (its page shows at once),
// the cart (header badge) and the order history are refetched, and the shopper lands on the order.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { placeOrder, type CheckoutInput } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";
import { rememberPlaced } from "@/modules/orders/just-placed";

export function usePlaceOrder() {
  const qc = useQueryClient();
  const router = useRouter();
  return useMutation({
    mutationFn: ({ input, key }: { input: CheckoutInput; key: string }) => placeOrder(input, key),
    onSuccess: (order) => {
      qc.setQueryData(queryKeys.order(order.id), order);
      rememberPlaced(order.id);
      void qc.invalidateQueries({ queryKey: queryKeys.cart });
      void qc.invalidateQueries({ queryKey: queryKeys.orders });
      router.push(`/orders/${encodeURIComponent(order.id)}`);
    },
  });
}
