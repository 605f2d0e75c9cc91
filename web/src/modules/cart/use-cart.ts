"use client";
// The cart in TanStack Query. Changes are optimistic: onMutate cancels the cart's queries,
// snapshots the cart and writes what it will be; onError puts the snapshot back and tells the
// shopper why; onSettled refetches, so the badge always ends at the server's count.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import type { ApiError } from "@/lib/api/client";
import type { Cart } from "@/lib/api/types";
import { applyCartChange, type CartChange } from "@/lib/cart/optimistic";
import { addToCart, getCart, removeFromCart, setCartQuantity } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";

export function useCart() {
  return useQuery({ queryKey: queryKeys.cart, queryFn: getCart, staleTime: 5_000 });
}

function send(change: CartChange): Promise<Cart> {
  switch (change.kind) {
    case "add":
      return addToCart(change.line.book_id, change.quantity);
    case "set":
      return setCartQuantity(change.bookId, change.quantity);
    case "remove":
      return removeFromCart(change.bookId);
  }
}

export function cartErrorMessage(err: unknown): string {
  const e = err as Partial<ApiError>;
  switch (e.type) {
    case "/problems/out-of-stock":
      return "Sorry, that book is out of stock.";
    case "/problems/quantity-limit":
      return "That is more copies than we can sell at once.";
    case "/problems/cart-full":
      return "Your cart is full.";
    default:
      return `Your cart could not be updated: ${e.message ?? "unknown error"}.`;
  }
}

export function useCartMutation() {
  const qc = useQueryClient();
  const [message, setMessage] = useState<string | null>(null);
  const mutation = useMutation({
    mutationFn: send,
    onMutate: async (change: CartChange) => {
      setMessage(null);
      await qc.cancelQueries({ queryKey: queryKeys.cart });
      const previous = qc.getQueryData<Cart>(queryKeys.cart);
      qc.setQueryData<Cart>(queryKeys.cart, applyCartChange(previous, change));
      return { previous };
    },
    onError: (err, _change, context) => {
      qc.setQueryData(queryKeys.cart, context?.previous);
      setMessage(cartErrorMessage(err));
    },
    onSuccess: (cart, change) => {
      if (change.kind === "add") setMessage(`Added “${change.line.title}” to your cart.`);
      qc.setQueryData(queryKeys.cart, cart);
    },
    onSettled: () => qc.invalidateQueries({ queryKey: queryKeys.cart }),
  });
  return { ...mutation, message };
}
