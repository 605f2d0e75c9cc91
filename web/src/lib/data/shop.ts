// Browser-side calls (cart, orders, feedback, session), through the storefront's /api proxy.
import { apiClient, problemOf, unwrap } from "@/lib/api/client";
import type { components } from "@/lib/api/schema";
import type { Cart, Order, OrderPage, User, Vote } from "@/lib/api/types";

const api = () => apiClient(typeof window === "undefined" ? "http://localhost" : window.location.origin);

export const getCart = async (): Promise<Cart> => unwrap(await api().GET("/api/v1/cart"));

export const addToCart = async (bookId: string, quantity: number): Promise<Cart> =>
  unwrap(await api().POST("/api/v1/cart/items", { body: { book_id: bookId, quantity } }));

export const setCartQuantity = async (bookId: string, quantity: number): Promise<Cart> =>
  unwrap(await api().PUT("/api/v1/cart/items/{book_id}", { params: { path: { book_id: bookId } }, body: { quantity } }));

export const removeFromCart = async (bookId: string): Promise<Cart> =>
  unwrap(await api().DELETE("/api/v1/cart/items/{book_id}", { params: { path: { book_id: bookId } } }));

// The request body of POST /api/v1/orders: shipping, payment and, optionally, the total the
// shopper saw (the service answers /problems/price-changed when the cart's total differs).
export type CheckoutInput = components["schemas"]["CheckoutRequest"];

export async function placeOrder(input: CheckoutInput, idempotencyKey: string): Promise<Order> {
  const r = await api().POST("/api/v1/orders", {
    params: { header: { "Idempotency-Key": idempotencyKey } },
    body: input,
  });
  return unwrap(r) as Order;
}

// One page of the signed-in user's orders, newest first; pass the previous page's next_cursor.
export const listOrders = async (cursor?: string): Promise<OrderPage> =>
  unwrap(await api().GET("/api/v1/orders", { params: { query: cursor ? { cursor } : {} } }));

export const getOrder = async (id: string): Promise<Order> =>
  unwrap(await api().GET("/api/v1/orders/{id}", { params: { path: { id } } }));

// Cancels an order that is pending or paid (409 /problems/invalid-status-transition otherwise).
export const cancelOrder = async (id: string): Promise<Order> =>
  unwrap(await api().POST("/api/v1/orders/{id}/cancel", { params: { path: { id } } }));

export async function currentUser(): Promise<User | null> {
  const res = await fetch("/api/session", { cache: "no-store" });
  if (!res.ok) throw await problemOf(res);
  return ((await res.json()) as { user: User | null }).user;
}

export async function signIn(email: string, password: string): Promise<User> {
  const res = await fetch("/api/session", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!res.ok) throw await problemOf(res);
  return ((await res.json()) as { user: User }).user;
}

export async function signOut(): Promise<void> {
  await fetch("/api/session", { method: "DELETE" });
}

export async function register(email: string, password: string): Promise<User> {
  const r = await api().POST("/api/v1/auth/register", { body: { email, password } });
  return unwrap(r).user;
}

export async function vote(input: { request_id: string; book_id: string; query?: string; vote: "up" | "down" }): Promise<Vote> {
  return unwrap(await api().POST("/api/v1/feedback", { body: input })) as Vote;
}

export async function myVotes(requestId: string): Promise<Vote[]> {
  return unwrap(await api().GET("/api/v1/feedback", { params: { query: { request_id: requestId } } })).items;
}

export async function suggest(q: string): Promise<{ id: string; title: string; authors: string }[]> {
  if (q.trim() === "") return [];
  return unwrap(await api().GET("/api/v1/suggest", { params: { query: { q, limit: 8 } } })).items;
}
