"use client";
// The signed-in user's orders in TanStack Query: the history (pages by keyset cursor), one
// order, and cancelling one.
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError } from "@/lib/api/client";
import type { Order } from "@/lib/api/types";
import { cancelOrder, getOrder, listOrders } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";

// A 4xx answer will not change on a retry (not found, signed out).
const retry = (failures: number, err: Error) => !(err instanceof ApiError && err.status < 500) && failures < 1;

export function useOrders(enabled: boolean) {
  return useInfiniteQuery({
    queryKey: queryKeys.orderList,
    queryFn: ({ pageParam }) => listOrders(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => (page.has_more && page.next_cursor ? page.next_cursor : undefined),
    enabled,
    retry,
  });
}

export function useOrder(id: string, enabled: boolean) {
  return useQuery({ queryKey: queryKeys.order(id), queryFn: () => getOrder(id), enabled, retry });
}

export function useCancelOrder(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => cancelOrder(id),
    onSuccess: (order: Order) => qc.setQueryData(queryKeys.order(id), order),
    // Cancelling restocks and may race an admin's change: refetch the order and the history.
    onSettled: () => qc.invalidateQueries({ queryKey: queryKeys.orders }),
  });
}
