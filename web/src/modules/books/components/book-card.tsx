import Link from "next/link";
import type { BookSummary, SnippetPart } from "@/lib/api/types";
import { authorNames, formatPrice } from "@/lib/format";

export function Highlighted({ parts }: { parts: SnippetPart[] }) {
  return (
    <>
      {parts.map((p, i) =>
        p.match ? (
          <mark key={i} className="bg-amber-100">
            {p.text}
          </mark>
        ) : (
          <span key={i}>{p.text}</span>
        ),
      )}
    </>
  );
}

export function Cover({ book, size = "sm" }: { book: Pick<BookSummary, "cover_url" | "title">; size?: "sm" | "lg" }) {
  const cls = size === "lg" ? "h-72 w-48" : "h-36 w-24";
  return book.cover_url ? (
    // eslint-disable-next-line @next/next/no-img-element
    <img src={book.cover_url} alt={`Cover of ${book.title}`} width={size === "lg" ? 192 : 96} height={size === "lg" ? 288 : 144} className={`${cls} flex-none rounded bg-stone-200 object-cover`} loading={size === "lg" ? "eager" : "lazy"} />
  ) : (
    <div aria-hidden className={`${cls} flex flex-none items-center justify-center rounded bg-stone-200 p-2 text-center text-xs text-stone-600`}>
      {book.title}
    </div>
  );
}

export function BookCard({ book, snippet, title }: { book: BookSummary; snippet?: SnippetPart[]; title?: SnippetPart[] }) {
  return (
    <article className="flex gap-4 rounded border border-stone-200 bg-white p-3" data-testid="book-card">
      <Cover book={book} />
      <div className="min-w-0">
        <h3 className="font-semibold">
          <Link href={`/books/${encodeURIComponent(book.id)}`} className="hover:underline">
            {title && title.length > 0 ? <Highlighted parts={title} /> : book.title}
          </Link>
        </h3>
        <p className="text-sm text-stone-700">{authorNames(book.authors)}</p>
        <p className="text-sm">
          {formatPrice(book.price_cents, book.currency)} · {book.in_stock ? `${book.stock} in stock` : "out of stock"}
          {book.year !== null ? ` · ${book.year}` : ""}
        </p>
        {snippet && snippet.length > 0 && (
          <p className="mt-1 line-clamp-3 text-sm text-stone-600">
            <Highlighted parts={snippet} />
          </p>
        )}
      </div>
    </article>
  );
}
