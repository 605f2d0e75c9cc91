import type { ReactNode } from "react";
import { AdminGate } from "@/modules/admin/components/admin-gate";
import { AdminNav } from "@/modules/admin/components/admin-nav";

export default function AdminLayout({ children }: { children: ReactNode }) {
  return (
    <AdminGate>
      <AdminNav />
      {children}
    </AdminGate>
  );
}
