// Search results, rendered on the server: hybrid search (GET /api/v1/search) when there is a
// query, the catalogue list when only filters are given (a genre link). The service returns at
// most 100 ranked results; pages of 20 and the genre facet are computed over those.
import type { Metadata } from "next";
import Link from "next/link";
import { ApiError, listBooks, searchBooks } from "@/lib/data/catalog";
import type { BookSummary, SnippetPart } from "@/lib/api/types";
import { BookCard } from "@/modules/books/components/book-card";

export const dynamic = "force-dynamic";
const PAGE = 20;

type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? "";
const int = (v: string) => (v !== "" && /^-?\d+$/.test(v) ? Number(v) : undefined);

export async function generateMetadata({ searchParams }: { searchParams: Promise<Params> }): Promise<Metadata> {
  const p = await searchParams;
  const q = one(p.q) || one(p.genre);
  return { title: q ? `Search: ${q}` : "Search", robots: { index: false } };
}

interface Row {
  book: BookSummary;
  snippet?: SnippetPart[];
  title?: SnippetPart[];
}

export default async function SearchPage({ searchParams }: { searchParams: Promise<Params> }) {
  const p = await searchParams;
  const q = one(p.q).trim();
  const genre = one(p.genre);
  const inStock = one(p.in_stock) === "true" ? true : undefined;
  const yearMin = int(one(p.year_min));
  const yearMax = int(one(p.year_max));
  const priceMax = int(one(p.price_max));
  const page = Math.max(1, int(one(p.page)) ?? 1);
  const filters = {
    ...(genre ? { genre } : {}),
    ...(inStock ? { in_stock: true } : {}),
    ...(yearMin !== undefined ? { year_min: yearMin } : {}),
    ...(yearMax !== undefined ? { year_max: yearMax } : {}),
    ...(priceMax !== undefined ? { price_max: priceMax * 100 } : {}),
  };

  let rows: Row[] = [];
  let error: string | null = null;
  let degraded: string[] = [];
  try {
    if (q) {
      const r = await searchBooks({ q, limit: 100, ...filters });
      rows = r.items.map((i) => ({ book: i.book, snippet: i.snippet, title: i.title_highlight }));
      degraded = r.degraded.map((d) => d.stage);
    } else if (genre || inStock) {
      const r = await listBooks({ ...filters, sort: "popularity", limit: 100 });
      rows = r.items.map((b) => ({ book: b }));
    }
  } catch (e) {
    error = e instanceof ApiError ? e.message : "The search failed.";
  }

  const facet = new Map<string, number>();
  for (const r of rows) for (const g of r.book.genres) facet.set(g, (facet.get(g) ?? 0) + 1);
  const genres = [...facet.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const shown = rows.slice((page - 1) * PAGE, page * PAGE);
  const link = (over: Record<string, string | undefined>) => {
    const u = new URLSearchParams();
    const base: Record<string, string | undefined> = { q, genre, in_stock: inStock ? "true" : undefined, year_min: one(p.year_min), year_max: one(p.year_max), price_max: one(p.price_max), ...over };
    for (const [k, v] of Object.entries(base)) if (v) u.set(k, v);
    return `/search?${u.toString()}`;
  };

  return (
    <div className="grid gap-6 md:grid-cols-[14rem_1fr]">
      <aside aria-label="Filters" className="space-y-5">
        <form action="/search" className="space-y-3">
          <input type="hidden" name="q" value={q} />
          {genre && <input type="hidden" name="genre" value={genre} />}
          <fieldset className="space-y-2">
            <legend className="font-semibold">Filters</legend>
            <label className="flex items-center gap-2">
              <input type="checkbox" name="in_stock" value="true" defaultChecked={inStock} /> In stock only
            </label>
            <label className="block text-sm">
              Year from <input name="year_min" inputMode="numeric" defaultValue={one(p.year_min)} className="mt-1 w-full rounded border px-2 py-1" />
            </label>
            <label className="block text-sm">
              Year to <input name="year_max" inputMode="numeric" defaultValue={one(p.year_max)} className="mt-1 w-full rounded border px-2 py-1" />
            </label>
            <label className="block text-sm">
              Price up to ($) <input name="price_max" inputMode="numeric" defaultValue={one(p.price_max)} className="mt-1 w-full rounded border px-2 py-1" />
            </label>
          </fieldset>
          <button className="rounded bg-stone-800 px-3 py-1 text-white">Apply</button>
        </form>
        {genres.length > 0 && (
          <nav aria-label="Genres in these results">
            <h2 className="font-semibold">Genres</h2>
            <ul className="mt-2 space-y-1 text-sm">
              {genre && (
                <li>
                  <Link href={link({ genre: undefined, page: undefined })} className="underline">All genres</Link>
                </li>
              )}
              {genres.map(([g, n]) => (
                <li key={g}>
                  <Link href={link({ genre: g, page: undefined })} aria-current={g === genre ? "true" : undefined} className={g === genre ? "font-semibold" : "hover:underline"}>
                    {g} ({n})
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        )}
      </aside>
      <section aria-labelledby="results-heading">
        <h1 id="results-heading" className="mb-3 text-2xl font-bold">
          {q ? <>Results for “{q}”</> : genre ? genre : "Search"}
        </h1>
        {error && <p role="alert" className="rounded bg-red-50 p-3 text-red-800">{error}</p>}
        {degraded.length > 0 && <p className="mb-2 text-sm text-stone-600">Some search stages were unavailable ({degraded.join(", ")}); results are keyword-based.</p>}
        {!error && rows.length === 0 && <p>No books found. Try other words, or describe the book you have in mind.</p>}
        <p className="mb-3 text-sm text-stone-600" aria-live="polite">{rows.length > 0 && `${rows.length}${rows.length === 100 ? "+" : ""} books`}</p>
        <ol className="space-y-3">
          {shown.map((r) => (
            <li key={r.book.id}>
              <BookCard book={r.book} snippet={r.snippet} title={r.title} />
            </li>
          ))}
        </ol>
        {pages > 1 && (
          <nav aria-label="Pages" className="mt-4 flex gap-2">
            {Array.from({ length: pages }, (_, i) => i + 1).map((n) => (
              <Link key={n} href={link({ page: String(n) })} aria-current={n === page ? "page" : undefined} className={`rounded border px-3 py-1 ${n === page ? "bg-stone-800 text-white" : "bg-white"}`}>
                {n}
              </Link>
            ))}
          </nav>
        )}
      </section>
    </div>
  );
}
