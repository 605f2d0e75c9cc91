import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { User } from "@/lib/api/types";
import { queryKeys } from "@/lib/query/client";
import { AdminGate } from "./admin-gate";

vi.mock("next/navigation", () => ({ usePathname: () => "/admin/jobs" }));

function renderAs(user: User | null) {
  const qc = new QueryClient();
  qc.setQueryData(queryKeys.user, user);
  return render(
    <QueryClientProvider client={qc}>
      <AdminGate>
        <p>secret admin page</p>
      </AdminGate>
    </QueryClientProvider>,
  );
}

const user = (role: User["role"]): User => ({ id: 1, email: "ann@example.com", role, created_at: "2026-01-01T00:00:00Z" });

afterEach(cleanup);

describe("AdminGate", () => {
  it("asks a signed-out visitor to sign in, coming back to the page", () => {
    renderAs(null);
    expect(screen.getByTestId("admin-denied").dataset.reason).toBe("signed-out");
    expect(screen.getByRole("link", { name: /sign in/ }).getAttribute("href")).toBe("/login?next=%2Fadmin%2Fjobs");
    expect(screen.queryByText("secret admin page")).toBeNull();
  });

  it("tells a customer the pages are for administrators", () => {
    renderAs(user("customer"));
    expect(screen.getByTestId("admin-denied").dataset.reason).toBe("not-admin");
    expect(screen.getByText(/ann@example.com, which is not an administrator account/)).toBeTruthy();
    expect(screen.queryByText("secret admin page")).toBeNull();
  });

  it("shows the page to an administrator", () => {
    renderAs(user("admin"));
    expect(screen.getByText("secret admin page")).toBeTruthy();
    expect(screen.queryByTestId("admin-denied")).toBeNull();
  });
});
