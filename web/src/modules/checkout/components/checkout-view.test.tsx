import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api/client";
import type { Cart, Order, User } from "@/lib/api/types";
import { getCart, placeOrder } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";
import { CheckoutView } from "./checkout-view";

const push = vi.fn();
vi.mock("next/navigation", () => ({ useRouter: () => ({ push }) }));
vi.mock("@/lib/data/shop", () => ({ placeOrder: vi.fn(), getCart: vi.fn(), currentUser: vi.fn() }));
const place = vi.mocked(placeOrder);

const user: User = { id: 1, email: "ann@example.com", role: "customer", created_at: "2026-01-01T00:00:00Z" };
const cart: Cart = {
  items: [
    { book_id: "pg-84", title: "Frankenstein", authors: "Mary Shelley", cover_url: null, unit_price_cents: 500, currency: "USD", quantity: 2, line_total_cents: 1000, stock: 5, problem: null },
  ],
  item_count: 2,
  subtotal_cents: 1000,
  currency: "USD",
  checkout_ready: true,
};
const order = { id: "ord_abc" } as Order;

function renderAs(u: User | null) {
  const qc = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  qc.setQueryData(queryKeys.user, u);
  qc.setQueryData(queryKeys.cart, cart);
  render(
    <QueryClientProvider client={qc}>
      <CheckoutView />
    </QueryClientProvider>,
  );
}

function fill(card = "4242 4242 4242 4242") {
  const values: Record<string, string> = {
    "Full name": "Ann Reader",
    Address: "1 Main St",
    City: "Springfield",
    "Postal code": "12345",
    "Card number": card,
    "Expiry month": "12",
    "Expiry year": "2031",
    CVC: "123",
  };
  for (const [label, value] of Object.entries(values)) fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

const submit = () => fireEvent.click(screen.getByRole("button", { name: "Place order" }));
const keys = () => place.mock.calls.map((c) => c[1]);

beforeEach(() => {
  place.mockReset();
  push.mockReset();
  // What the cart is refetched as after an order: empty.
  vi.mocked(getCart).mockResolvedValue({ ...cart, items: [], item_count: 0, subtotal_cents: 0, checkout_ready: false });
});
afterEach(cleanup);

describe("CheckoutView", () => {
  it("asks a signed-out visitor to sign in and come back", () => {
    renderAs(null);
    expect(screen.getByRole("link", { name: "sign in" }).getAttribute("href")).toBe("/login?next=/checkout");
  });

  it("shows the cart and the fields, with the country preset to US", () => {
    renderAs(user);
    expect(screen.getByTestId("checkout-subtotal").textContent).toBe("$10.00");
    expect((screen.getByLabelText("Country") as HTMLInputElement).value).toBe("US");
  });

  it("marks empty fields without calling the service", () => {
    renderAs(user);
    submit();
    expect(place).not.toHaveBeenCalled();
    expect(screen.getByRole("alert").textContent).toMatch(/marked fields/);
    expect(screen.getByLabelText("Full name").getAttribute("aria-invalid")).toBe("true");
  });

  it("retries with the same key after a network error, then goes to the order", async () => {
    place.mockRejectedValueOnce(new TypeError("Failed to fetch")).mockResolvedValueOnce(order);
    renderAs(user);
    fill();
    submit();
    await waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/could not reach/));
    submit();
    await waitFor(() => expect(push).toHaveBeenCalledWith("/orders/ord_abc"));
    expect(keys()).toHaveLength(2);
    expect(keys()[0]).toBe(keys()[1]);
    expect(place.mock.calls[0]?.[0]).toMatchObject({ expected_total_cents: 1000, shipping: { country: "US" } });
  });

  it("ignores a second click while the first is under way", async () => {
    let resolve: (o: Order) => void = () => {};
    place.mockReturnValueOnce(new Promise<Order>((r) => (resolve = r)));
    renderAs(user);
    fill();
    submit();
    submit();
    resolve(order);
    await waitFor(() => expect(push).toHaveBeenCalled());
    expect(place).toHaveBeenCalledTimes(1);
  });

  it("uses a new key when the card changed after a decline", async () => {
    const declined = new ApiError(402, { type: "/problems/payment-declined", title: "Payment declined", status: 402, request_id: "r" }, "x");
    place.mockRejectedValueOnce(declined).mockResolvedValueOnce(order);
    renderAs(user);
    fill("4000 0000 0000 0002");
    submit();
    await waitFor(() => expect(screen.getByRole("alert").textContent).toMatch(/declined.*another card/));
    fill("4242 4242 4242 4242");
    submit();
    await waitFor(() => expect(push).toHaveBeenCalled());
    expect(keys()[0]).not.toBe(keys()[1]);
  });
});
