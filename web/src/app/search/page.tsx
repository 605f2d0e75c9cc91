// Search results, rendered on the server: hybrid search (GET /api/v1/search) when there is a
// query, the catalogue list when only filters are given (a genre link). The service returns at
// most 100 ranked results; pages of 20 and the facets (genre, decade, price, stock) are computed
// over those.
import type { Metadata } from "next";
import Link from "next/link";
import { ApiError, listBooks, searchBooks } from "@/lib/data/catalog";
import type { BookSummary, SnippetPart } from "@/lib/api/types";
import { BookCard } from "@/modules/books/components/book-card";
import { facetsOf, type FacetFilter, type FacetValue } from "@/modules/search/facets";

export const dynamic = "force-dynamic";
const PAGE = 20;

type Params = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? "";
const int = (v: string) => (v !== "" && /^-?\d+$/.test(v) ? Number(v) : undefined);
// Dollars ("12", "9.99") to cents.
const cents = (v: string) => (/^\d+(\.\d{1,2})?$/.test(v) ? Math.round(Number(v) * 100) : undefined);

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
  const priceMin = cents(one(p.price_min));
  const priceMax = cents(one(p.price_max));
  const page = Math.max(1, int(one(p.page)) ?? 1);
  const filters = {
    ...(genre ? { genre } : {}),
    ...(inStock ? { in_stock: true } : {}),
    ...(yearMin !== undefined ? { year_min: yearMin } : {}),
    ...(yearMax !== undefined ? { year_max: yearMax } : {}),
    ...(priceMin !== undefined ? { price_min: priceMin } : {}),
    ...(priceMax !== undefined ? { price_max: priceMax } : {}),
  };

  let rows: Row[] = [];
  let error: string | null = null;
  let degraded: string[] = [];
  try {
    if (q) {
      const r = await searchBooks({ q, limit: 100, ...filters });
      rows = r.items.map((i) => ({ book: i.book, snippet: i.snippet, title: i.title_highlight }));
      degraded = r.degraded.map((d) => d.stage);
    } else if (Object.keys(filters).length > 0) {
      const r = await listBooks({ ...filters, sort: "popularity", limit: 100 });
      rows = r.items.map((b) => ({ book: b }));
    }
  } catch (e) {
    error = e instanceof ApiError ? e.message : "The search failed.";
  }

  const facets = facetsOf(rows.map((r) => r.book));
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  const shown = rows.slice((page - 1) * PAGE, page * PAGE);
  const current: FacetFilter = { genre, in_stock: inStock ? "true" : undefined, year_min: one(p.year_min), year_max: one(p.year_max), price_min: one(p.price_min), price_max: one(p.price_max) };
  const link = (over: Record<string, string | undefined>) => {
    const u = new URLSearchParams();
    const base: Record<string, string | undefined> = { q, ...current, ...over };
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
              Price from ($) <input name="price_min" inputMode="decimal" defaultValue={one(p.price_min)} className="mt-1 w-full rounded border px-2 py-1" />
            </label>
            <label className="block text-sm">
              Price up to ($) <input name="price_max" inputMode="decimal" defaultValue={one(p.price_max)} className="mt-1 w-full rounded border px-2 py-1" />
            </label>
          </fieldset>
          <button className="rounded bg-stone-800 px-3 py-1 text-white">Apply</button>
        </form>
        {rows.length > 0 && (
          <nav aria-label="Narrow these results" className="space-y-4">
            <p className="text-xs text-stone-600">Counts are of the books shown here.</p>
            <FacetList title="Genres" values={facets.genres} current={current} keys={["genre"]} link={link} />
            <FacetList title="Decade" values={facets.decades} current={current} keys={["year_min", "year_max"]} link={link} />
            <FacetList title="Price" values={facets.prices} current={current} keys={["price_min", "price_max"]} link={link} />
            <FacetList title="Availability" values={facets.stock} current={current} keys={["in_stock"]} link={link} />
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

// One facet: its values as links that set its filter (and keep the others); the chosen value is
// marked, with a link that clears it.
function FacetList({ title, values, current, keys, link }: {
  title: string;
  values: FacetValue[];
  current: FacetFilter;
  keys: (keyof FacetFilter)[];
  link: (over: Record<string, string | undefined>) => string;
}) {
  const active = keys.some((k) => current[k]);
  if (values.length === 0 && !active) return null;
  const clear = Object.fromEntries([...keys.map((k) => [k, undefined]), ["page", undefined]]);
  const chosen = (v: FacetValue) => keys.every((k) => (current[k] || undefined) === v.filter[k]);
  return (
    <div>
      <h2 className="font-semibold">{title}</h2>
      <ul className="mt-1 space-y-1 text-sm">
        {active && (
          <li>
            <Link href={link(clear)} className="underline">Any</Link>
          </li>
        )}
        {values.map((v) => (
          <li key={v.label}>
            <Link href={link({ ...clear, ...v.filter })} aria-current={chosen(v) ? "true" : undefined} className={chosen(v) ? "font-semibold" : "hover:underline"}>
              {v.label} ({v.count})
            </Link>
          </li>
        ))}
      </ul>
    </div>
  );
}
