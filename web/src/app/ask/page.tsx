import type { Metadata } from "next";
import { AskView } from "@/modules/ask/components/ask-view";

export const metadata: Metadata = {
  title: "Ask the AI",
  description: "Describe what you feel like reading; get picks from the catalogue with the reasons, as they are written.",
};

export default function AskPage() {
  return <AskView />;
}
