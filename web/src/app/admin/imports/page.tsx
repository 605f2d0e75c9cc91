import type { Metadata } from "next";
import { ImportsView } from "@/modules/admin/components/imports-view";

export const metadata: Metadata = { title: "Catalogue imports", robots: { index: false } };

export default function AdminImportsPage() {
  return <ImportsView />;
}
