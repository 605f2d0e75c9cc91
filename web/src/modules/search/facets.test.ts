import { describe, expect, it } from "vitest";
import { facetsOf } from "./facets";

const book = (genres: string[], year: number | null, price_cents: number, in_stock = true) => ({ genres, year, price_cents, in_stock });

describe("facetsOf", () => {
  const books = [
    book(["Gothic Fiction", "Horror"], 1818, 499),
    book(["Gothic Fiction"], 1897, 500),
    book(["Sea stories"], 1851, 1999, false),
    book([], null, 2000),
    book(["Horror"], 1819, 2499),
  ];
  const f = facetsOf(books);

  it("counts genres, most books first, ties by name", () => {
    expect(f.genres.map((g) => [g.label, g.count])).toEqual([["Gothic Fiction", 2], ["Horror", 2], ["Sea stories", 1]]);
    expect(f.genres[0]!.filter).toEqual({ genre: "Gothic Fiction" });
  });

  it("puts years in decades, newest first, books without a year in none", () => {
    expect(f.decades.map((d) => [d.label, d.count])).toEqual([["1890s", 1], ["1850s", 1], ["1810s", 2]]);
    expect(f.decades.at(-1)!.filter).toEqual({ year_min: "1810", year_max: "1819" });
  });

  it("puts prices in bands whose ends meet without overlap, and drops empty bands", () => {
    expect(f.prices.map((p) => [p.label, p.count])).toEqual([["Under $5", 1], ["$5 to $10", 1], ["$10 to $20", 1], ["$20 and more", 2]]);
    expect(f.prices[1]!.filter).toEqual({ price_min: "5", price_max: "9.99" });
    expect(f.prices[0]!.filter.price_min).toBeUndefined();
  });

  it("counts the books in stock", () => {
    expect(f.stock).toEqual([{ label: "In stock", count: 4, filter: { in_stock: "true" } }]);
    expect(facetsOf([]).stock).toEqual([]);
  });
});
