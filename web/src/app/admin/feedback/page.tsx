import type { Metadata } from "next";
import { FeedbackView } from "@/modules/admin/components/feedback-view";

export const metadata: Metadata = { title: "Feedback statistics", robots: { index: false } };

export default function AdminFeedbackPage() {
  return <FeedbackView />;
}
