"use client";
// The admin pages' reads in TanStack Query (keys in ./query-keys).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { type FeedbackStatsQuery, type JobListQuery, feedbackStats, jobStats, listImports, listJobs } from "@/lib/data/admin";
import { adminKeys } from "./query-keys";

// Admin calls fail for a reason worth showing at once (401, 403, 409): no silent retry.
const common = { retry: false, staleTime: 5_000 } as const;

export function useJobStats() {
  return useQuery({ ...common, queryKey: adminKeys.jobStats, queryFn: jobStats, refetchInterval: 15_000 });
}

export function useJobs(query: JobListQuery) {
  return useQuery({
    ...common,
    queryKey: adminKeys.jobList(query),
    queryFn: () => listJobs(query),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
  });
}

export function useImports() {
  return useQuery({
    ...common,
    queryKey: adminKeys.imports,
    queryFn: () => listImports({ limit: 20 }),
    // While an import is still running (or embedding), keep its row in the list current.
    refetchInterval: (q) => (q.state.data?.items.some((i) => !i.complete) ? 3_000 : false),
  });
}

export function useFeedbackStats(query: FeedbackStatsQuery) {
  return useQuery({ ...common, queryKey: adminKeys.feedback(query), queryFn: () => feedbackStats(query), placeholderData: keepPreviousData });
}
