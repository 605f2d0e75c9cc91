import type { Metadata } from "next";
import { JobsView } from "@/modules/admin/components/jobs-view";

export const metadata: Metadata = { title: "Jobs", robots: { index: false } };

export default function AdminJobsPage() {
  return <JobsView />;
}
