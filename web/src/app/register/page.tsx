import type { Metadata } from "next";
import { Suspense } from "react";
import { AuthForm } from "@/modules/account/components/auth-form";

export const metadata: Metadata = { title: "Create an account", robots: { index: false } };

export default function LoginPage() {
  return (
    <Suspense>
      <AuthForm mode="register" />
    </Suspense>
  );
}
