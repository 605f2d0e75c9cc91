"use client";
// Thumbs up/down on one pick, saved with POST /api/v1/feedback; the saved vote is read back
// from the service (GET /api/v1/feedback?request_id=), so it survives a reload.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import type { Vote } from "@/lib/api/types";
import { myVotes, vote } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";
import { useUser } from "@/modules/account/use-user";

export function VoteButtons({ requestId, bookId, query }: { requestId: string; bookId: string; query: string }) {
  const { data: user } = useUser();
  const qc = useQueryClient();
  const votes = useQuery({ queryKey: queryKeys.votes(requestId), queryFn: () => myVotes(requestId), enabled: !!user });
  const current = votes.data?.find((v) => v.book_id === bookId)?.vote;
  const m = useMutation({
    mutationFn: (v: "up" | "down") => vote({ request_id: requestId, book_id: bookId, query, vote: v }),
    onSuccess: (saved) =>
      qc.setQueryData<Vote[]>(queryKeys.votes(requestId), (old = []) => [...old.filter((v) => v.book_id !== bookId), saved]),
  });
  if (!user) {
    return (
      <p className="pl-2 text-sm text-stone-600">
        <Link href="/login?next=/ask" className="underline">Sign in</Link> to rate this pick.
      </p>
    );
  }
  const shown = m.isPending ? m.variables : current;
  return (
    <div className="flex items-center gap-2 pl-2" role="group" aria-label="Rate this pick">
      {(["up", "down"] as const).map((v) => (
        <button
          key={v}
          type="button"
          aria-pressed={shown === v}
          onClick={() => m.mutate(v)}
          className={`rounded border px-3 py-1 text-sm ${shown === v ? "border-amber-700 bg-amber-100" : "bg-white"}`}
        >
          {v === "up" ? "Good pick" : "Not for me"}
        </button>
      ))}
      {m.isError && <span role="alert" className="text-sm text-red-700">Your vote was not saved: {m.error.message}</span>}
    </div>
  );
}
