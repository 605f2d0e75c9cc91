// schema.org Book for a book page, safe to embed in a <script> element.
import type { Book } from "@/lib/api/types";

export function bookJsonLd(book: Book): string {
  const doc = {
    "@context": "https://schema.org",
    "@type": "Book",
    name: book.title,
    author: book.authors.map((a) => ({ "@type": "Person", name: a.name })),
    ...(book.year !== null ? { datePublished: String(book.year) } : {}),
    ...(book.language ? { inLanguage: book.language } : {}),
    ...(book.isbn13 ? { isbn: book.isbn13 } : {}),
    ...(book.genres.length > 0 ? { genre: book.genres } : {}),
    ...(book.cover_url ? { image: book.cover_url } : {}),
    ...(book.description ? { description: book.description } : {}),
    offers: {
      "@type": "Offer",
      price: (book.price_cents / 100).toFixed(2),
      priceCurrency: book.currency,
      availability: book.in_stock ? "https://schema.org/InStock" : "https://schema.org/OutOfStock",
    },
  };
  // "</script>" inside a string would end the element; escape "<" (and the JS line separators).
  return JSON.stringify(doc).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}
