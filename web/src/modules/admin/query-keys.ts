// Query keys of the admin pages. Everything starts with "admin", so signing out (which
// invalidates every query) or one prefix here refreshes the lot; jobs and their stats share
// the "jobs" prefix, so a retry or cancel refreshes both.
import type { FeedbackStatsQuery, JobListQuery } from "@/lib/data/admin";

export const adminKeys = {
  all: ["admin"] as const,
  imports: ["admin", "imports"] as const,
  jobs: ["admin", "jobs"] as const,
  jobList: (query: JobListQuery) => ["admin", "jobs", "list", query] as const,
  jobStats: ["admin", "jobs", "stats"] as const,
  feedback: (query: FeedbackStatsQuery) => ["admin", "feedback", query] as const,
};
