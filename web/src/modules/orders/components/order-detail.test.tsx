import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError } from "@/lib/api/client";
import type { Order, User } from "@/lib/api/types";
import { cancelOrder, getOrder } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";
import { rememberPlaced } from "../just-placed";
import { OrderDetail } from "./order-detail";

vi.mock("@/lib/data/shop", () => ({ getOrder: vi.fn(), cancelOrder: vi.fn(), listOrders: vi.fn(), currentUser: vi.fn() }));

const user: User = { id: 1, email: "ann@example.com", role: "customer", created_at: "2026-01-01T00:00:00Z" };
const order: Order = {
  id: "ord_abc",
  status: "paid",
  total_cents: 1000,
  currency: "USD",
  item_count: 2,
  user: { id: 1, email: "ann@example.com" },
  created_at: "2026-03-04T14:05:00Z",
  updated_at: "2026-03-04T14:05:00Z",
  shipping: { name: "Ann Reader", line1: "1 Main St", line2: "", city: "Springfield", postal_code: "12345", country: "US" },
  payment: { provider: "test", reference: "t_1", card_last4: "4242" },
  lines: [{ book_id: "pg-84", title: "Frankenstein", unit_price_cents: 500, quantity: 2, line_total_cents: 1000 }],
  events: [],
};

function renderAs(u: User | null, id = "ord_abc") {
  const qc = new QueryClient({ defaultOptions: { queries: { staleTime: Infinity, retry: false } } });
  qc.setQueryData(queryKeys.user, u);
  render(
    <QueryClientProvider client={qc}>
      <OrderDetail id={id} />
    </QueryClientProvider>,
  );
}

afterEach(() => {
  cleanup();
  sessionStorage.clear();
});

describe("OrderDetail", () => {
  it("asks a signed-out visitor to sign in and come back", () => {
    renderAs(null);
    expect(screen.getByRole("link", { name: "sign in" }).getAttribute("href")).toBe("/login?next=/orders/ord_abc");
  });

  it("shows the order, and thanks the shopper when it was just placed", async () => {
    vi.mocked(getOrder).mockResolvedValue(order);
    rememberPlaced("ord_abc");
    renderAs(user);
    expect((await screen.findByRole("heading", { level: 1 })).textContent).toBe("Order ord_abc");
    expect(screen.getByText(/Thank you/)).toBeTruthy();
    expect(screen.getByTestId("order-total").textContent).toBe("$10.00");
    expect(screen.getByTestId("order-status").textContent).toBe("Paid");
    expect(screen.getAllByTestId("order-line")).toHaveLength(1);
  });

  it("says so when the order does not exist", async () => {
    vi.mocked(getOrder).mockRejectedValue(new ApiError(404, { type: "/problems/not-found", title: "Not found", status: 404, request_id: "r" }, "x"));
    renderAs(user, "ord_nope");
    expect((await screen.findByRole("alert")).textContent).toMatch(/could not find order ord_nope/);
    expect(screen.queryByText(/Thank you/)).toBeNull();
  });

  it("cancels after a confirmation", async () => {
    vi.mocked(getOrder).mockResolvedValueOnce(order).mockResolvedValue({ ...order, status: "cancelled" });
    vi.mocked(cancelOrder).mockResolvedValue({ ...order, status: "cancelled" });
    renderAs(user);
    fireEvent.click(await screen.findByRole("button", { name: "Cancel order" }));
    fireEvent.click(screen.getByRole("button", { name: "Yes, cancel the order" }));
    await waitFor(() => expect(screen.getByTestId("order-status").textContent).toBe("Cancelled"));
    expect(cancelOrder).toHaveBeenCalledWith("ord_abc");
    expect(screen.queryByRole("button", { name: "Cancel order" })).toBeNull();
  });
});
