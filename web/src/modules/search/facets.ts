// Facets of a result list: how many of the books shown fall in each genre, decade, price band
// and stock state. The search API ranks at most 100 books and returns no counts of its own, so
// the counts are over those (as the page says), and each facet value carries the filter that
// selects it.
import type { BookSummary } from "@/lib/api/types";

export type FacetFilter = { genre?: string; year_min?: string; year_max?: string; price_min?: string; price_max?: string; in_stock?: string };
export type FacetValue = { label: string; count: number; filter: FacetFilter };
export type Facets = { genres: FacetValue[]; decades: FacetValue[]; prices: FacetValue[]; stock: FacetValue[] };

// Whole dollars, as the price filter takes them: [min, max) of each band.
export const PRICE_BANDS: ReadonlyArray<{ label: string; min?: number; max?: number }> = [
  { label: "Under $5", max: 5 },
  { label: "$5 to $10", min: 5, max: 10 },
  { label: "$10 to $20", min: 10, max: 20 },
  { label: "$20 and more", min: 20 },
];

export function facetsOf(books: ReadonlyArray<Pick<BookSummary, "genres" | "year" | "price_cents" | "in_stock">>, maxGenres = 12): Facets {
  const genres = new Map<string, number>();
  const decades = new Map<number, number>();
  const prices = PRICE_BANDS.map(() => 0);
  let inStock = 0;
  for (const b of books) {
    for (const g of b.genres) genres.set(g, (genres.get(g) ?? 0) + 1);
    if (b.year !== null) {
      const d = Math.floor(b.year / 10) * 10;
      decades.set(d, (decades.get(d) ?? 0) + 1);
    }
    const dollars = b.price_cents / 100;
    const band = PRICE_BANDS.findIndex((p) => (p.min === undefined || dollars >= p.min) && (p.max === undefined || dollars < p.max));
    if (band >= 0) prices[band]! += 1;
    if (b.in_stock) inStock += 1;
  }
  return {
    genres: [...genres.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, maxGenres)
      .map(([g, count]) => ({ label: g, count, filter: { genre: g } })),
    decades: [...decades.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([d, count]) => ({ label: d < 0 ? `${-d} BC` : `${d}s`, count, filter: { year_min: String(d), year_max: String(d + 9) } })),
    prices: PRICE_BANDS.map((p, i) => ({
      label: p.label,
      count: prices[i]!,
      // The API's price_max is inclusive: a band's upper end is one cent below the next band.
      filter: { price_min: p.min === undefined ? undefined : String(p.min), price_max: p.max === undefined ? undefined : (p.max - 0.01).toFixed(2) },
    })).filter((v) => v.count > 0),
    stock: inStock > 0 ? [{ label: "In stock", count: inStock, filter: { in_stock: "true" } }] : [],
  };
}
