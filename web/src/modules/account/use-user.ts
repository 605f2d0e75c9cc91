"use client";
import { useQuery } from "@tanstack/react-query";
import { currentUser } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";

export function useUser() {
  return useQuery({ queryKey: queryKeys.user, queryFn: currentUser, staleTime: 60_000 });
}
