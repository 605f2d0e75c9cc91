"use client";
// Ask the AI: the picks appear as soon as the `results` event arrives; each pick's paragraph
// fills in underneath as `token` events stream (its box is there from the start, so text never
// pushes the other picks around). The last answer is kept for this tab (sessionStorage), so a
// reload shows it again with the shopper's saved votes.
import { useEffect, useRef, useState } from "react";
import type { Problem, SearchResponse } from "@/lib/api/types";
import { streamRecommendations } from "@/lib/data/recommendations";
import { BookCard } from "@/modules/books/components/book-card";
import { VoteButtons } from "./vote-buttons";

interface Answer {
  query: string;
  results: SearchResponse | null;
  paragraphs: Record<string, string>;
  state: "idle" | "searching" | "streaming" | "done" | "error";
  error?: string;
  model?: string | null;
}

const STORE_KEY = "libromind.ask.last";
const initial: Answer = { query: "", results: null, paragraphs: {}, state: "idle" };

export function AskView() {
  const [answer, setAnswer] = useState<Answer>(initial);
  const [query, setQuery] = useState("");
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    const saved = sessionStorage.getItem(STORE_KEY);
    if (!saved) return;
    try {
      const a = JSON.parse(saved) as Answer;
      // eslint-disable-next-line react-hooks/set-state-in-effect -- restoring the tab's last answer once, after hydration
      setAnswer(a);
      setQuery(a.query);
    } catch {
      sessionStorage.removeItem(STORE_KEY);
    }
    return () => abort.current?.abort();
  }, []);

  useEffect(() => {
    if (answer.state === "done" || answer.state === "error") sessionStorage.setItem(STORE_KEY, JSON.stringify(answer));
  }, [answer]);

  async function ask(q: string) {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setAnswer({ query: q, results: null, paragraphs: {}, state: "searching" });
    try {
      for await (const ev of streamRecommendations({ query: q, limit: 5 }, ctl.signal)) {
        if (ev.type === "results") {
          setAnswer((a) => ({ ...a, results: ev.data, state: "streaming" }));
        } else if (ev.type === "token") {
          const { book, text } = ev.data;
          setAnswer((a) => ({ ...a, paragraphs: { ...a.paragraphs, [book]: (a.paragraphs[book] ?? "") + text } }));
        } else if (ev.type === "done") {
          setAnswer((a) => ({ ...a, state: "done", model: ev.data.model }));
        } else {
          setAnswer((a) => ({ ...a, state: "error", error: explainProblem(ev.data) }));
        }
      }
    } catch (err) {
      if (ctl.signal.aborted) return;
      setAnswer((a) => ({ ...a, state: "error", error: (err as Error).message }));
    }
  }

  const busy = answer.state === "searching" || answer.state === "streaming";
  return (
    <div className="space-y-6">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (query.trim()) void ask(query.trim());
        }}
        className="space-y-2"
      >
        <h1 className="text-2xl font-bold">Ask the AI</h1>
        <label htmlFor="ask-q" className="block text-stone-700">
          Describe what you feel like reading
        </label>
        <div className="flex gap-2">
          <input id="ask-q" value={query} onChange={(e) => setQuery(e.target.value)} required maxLength={500} placeholder="a gothic tale of a monster and its maker" className="flex-1 rounded border border-stone-300 px-3 py-2" />
          <button disabled={busy} className="rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800 disabled:bg-stone-400">
            {busy ? "Thinking…" : "Ask"}
          </button>
          {busy && (
            <button type="button" onClick={() => { abort.current?.abort(); setAnswer((a) => ({ ...a, state: "done" })); }} className="rounded border px-3 py-2">
              Stop
            </button>
          )}
        </div>
      </form>
      <p role="status" aria-live="polite" className="text-sm text-stone-600" data-testid="ask-state" data-state={answer.state}>
        {answer.state === "searching" && "Finding books…"}
        {answer.state === "streaming" && "Writing why these books fit…"}
        {answer.state === "done" && answer.model && `Explained by ${answer.model}.`}
      </p>
      {answer.state === "error" && answer.error && (
        <p role="alert" className="rounded bg-amber-50 p-3 text-amber-900">{answer.error}</p>
      )}
      {answer.results && (
        <ol className="space-y-4" aria-label="Picks">
          {answer.results.items.map((item) => (
            <li key={item.book.id} className="space-y-2" data-testid="pick">
              <BookCard book={item.book} />
              {/* The box is there before its first token, so streamed text never moves the other picks. */}
              <p
                className={`whitespace-pre-line pl-2 text-stone-800 ${answer.state === "error" && !answer.paragraphs[item.book.id] ? "hidden" : "min-h-12"}`}
                data-testid="explanation"
              >
                {answer.paragraphs[item.book.id] ?? ""}
              </p>
              <VoteButtons requestId={answer.results!.request_id} bookId={item.book.id} query={answer.query} />
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

function explainProblem(p: Partial<Problem>): string {
  const why = p.detail ?? p.title ?? "the model server failed";
  return `The picks are here, but their explanation could not be written (${why}).`;
}
