import { describe, expect, it } from "vitest";
import type { Book } from "@/lib/api/types";
import { bookJsonLd } from "./json-ld";

const book = {
  id: "pg-84", title: "Frankenstein </script><script>alert(1)</script>", authors: [{ id: 1, name: "Mary Shelley" }],
  genres: ["Gothic Fiction"], language: "en", year: 1818, rating: null, popularity: 1, cover_url: null,
  price_cents: 1299, currency: "USD", stock: 0, in_stock: false, description: "", isbn13: null, pages: null,
  source: null, change_seq: 1, created_at: "", updated_at: "",
} as unknown as Book;

describe("bookJsonLd", () => {
  it("describes the book as a schema.org Book with an offer", () => {
    const doc = JSON.parse(bookJsonLd(book));
    expect(doc["@type"]).toBe("Book");
    expect(doc.author).toEqual([{ "@type": "Person", name: "Mary Shelley" }]);
    expect(doc.offers).toMatchObject({ price: "12.99", priceCurrency: "USD", availability: "https://schema.org/OutOfStock" });
  });

  it("cannot end its script element early", () => {
    expect(bookJsonLd(book)).not.toContain("</script>");
  });
});
