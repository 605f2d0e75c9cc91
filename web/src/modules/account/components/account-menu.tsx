"use client";

import { useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { signOut } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";
import { useUser } from "../use-user";

export function AccountMenu() {
  const { data: user } = useUser();
  const qc = useQueryClient();
  const router = useRouter();
  if (!user) {
    return (
      <Link href="/login" className="rounded px-3 py-2 hover:bg-stone-100">
        Sign in
      </Link>
    );
  }
  return (
    <div className="flex items-center gap-1">
      <Link href="/orders" className="rounded px-3 py-2 hover:bg-stone-100">
        Your orders
      </Link>
      {user.role === "admin" && (
        <Link href="/admin" className="rounded px-3 py-2 hover:bg-stone-100">
          Admin
        </Link>
      )}
      <span className="hidden text-sm text-stone-600 md:inline" data-testid="signed-in-as">
        {user.email}
      </span>
      <button
        type="button"
        className="rounded px-3 py-2 hover:bg-stone-100"
        onClick={async () => {
          await signOut();
          qc.setQueryData(queryKeys.user, null);
          await qc.invalidateQueries();
          router.push("/");
        }}
      >
        Sign out
      </button>
    </div>
  );
}
