// One QueryClient per server request, one per browser tab (TanStack Query's Next.js guide).
import { QueryClient, isServer } from "@tanstack/react-query";

function makeQueryClient(): QueryClient {
  return new QueryClient({ defaultOptions: { queries: { staleTime: 30_000, retry: 1 } } });
}

let browserClient: QueryClient | undefined;

export function getQueryClient(): QueryClient {
  if (isServer) return makeQueryClient();
  return (browserClient ??= makeQueryClient());
}

export const queryKeys = {
  cart: ["cart"] as const,
  user: ["user"] as const,
  // Everything about orders starts with "orders", so invalidating `orders` refreshes all of it.
  orders: ["orders"] as const,
  orderList: ["orders", "list"] as const,
  order: (id: string) => ["orders", id] as const,
  suggest: (q: string) => ["suggest", q] as const,
  votes: (requestId: string) => ["votes", requestId] as const,
};
