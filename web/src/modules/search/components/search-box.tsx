"use client";
// The search box with autocomplete on titles and authors (GET /api/v1/suggest).
import { useQuery } from "@tanstack/react-query";
import { useRouter, useSearchParams } from "next/navigation";
import { useEffect, useId, useState } from "react";
import { suggest } from "@/lib/data/shop";
import { queryKeys } from "@/lib/query/client";

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function SearchBox() {
  const router = useRouter();
  const params = useSearchParams();
  const [q, setQ] = useState(params.get("q") ?? "");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const debounced = useDebounced(q.trim(), 150);
  const listId = useId();
  const { data: items = [] } = useQuery({
    queryKey: queryKeys.suggest(debounced),
    queryFn: () => suggest(debounced),
    enabled: open && debounced.length >= 2,
    staleTime: 60_000,
  });

  const go = (text: string) => {
    setOpen(false);
    if (text.trim()) router.push(`/search?q=${encodeURIComponent(text.trim())}`);
  };

  return (
    <form
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        const pick = active >= 0 ? items[active] : undefined;
        if (pick) router.push(`/books/${encodeURIComponent(pick.id)}`);
        else go(q);
        setOpen(false);
      }}
      className="relative"
    >
      <label htmlFor="site-search" className="sr-only">
        Search books
      </label>
      <input
        id="site-search"
        name="q"
        type="search"
        value={q}
        autoComplete="off"
        placeholder="Search by title, author or what it is about…"
        role="combobox"
        aria-expanded={open && items.length > 0}
        aria-controls={listId}
        aria-activedescendant={active >= 0 ? `${listId}-${active}` : undefined}
        onChange={(e) => {
          setQ(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown") setActive((a) => Math.min(a + 1, items.length - 1));
          else if (e.key === "ArrowUp") setActive((a) => Math.max(a - 1, -1));
          else if (e.key === "Escape") setOpen(false);
        }}
        className="w-full rounded border border-stone-300 px-3 py-2"
      />
      {open && items.length > 0 && (
        <ul id={listId} role="listbox" className="absolute z-10 mt-1 w-full rounded border border-stone-200 bg-white shadow">
          {items.map((s, i) => (
            <li
              key={s.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={() => router.push(`/books/${encodeURIComponent(s.id)}`)}
              className={`cursor-pointer px-3 py-2 ${i === active ? "bg-amber-100" : ""}`}
            >
              <span className="font-medium">{s.title}</span> <span className="text-sm text-stone-600">{s.authors}</span>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}
