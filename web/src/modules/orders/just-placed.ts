"use client";
// Remembers, for this browser tab, the order that checkout has just placed, so its page can say
// "Thank you" (also after a reload) while its URL stays /orders/{id}.
import { useSyncExternalStore } from "react";

const KEY = "lm_just_placed";

export function rememberPlaced(orderId: string): void {
  try {
    sessionStorage.setItem(KEY, orderId);
  } catch {
    // Storage may be off (privacy modes); the thank-you line is only a nicety.
  }
}

function read(): string | null {
  try {
    return sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

const subscribe = () => () => {};

// False on the server and while hydrating, then whether `orderId` is the order just placed.
export function useJustPlaced(orderId: string): boolean {
  return useSyncExternalStore(subscribe, () => read() === orderId, () => false);
}
