import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { getBook, similarBooks } from "@/lib/data/catalog";
import { authorNames, formatPrice, truncate } from "@/lib/format";
import { BookCard, Cover } from "@/modules/books/components/book-card";
import { AddToCart } from "@/modules/cart/components/add-to-cart";
import { bookJsonLd } from "@/modules/books/json-ld";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const book = await getBook((await params).id);
  if (!book) return { title: "Book not found" };
  const description = truncate(book.description || `${book.title} by ${authorNames(book.authors)}`, 160);
  return { title: `${book.title} — ${authorNames(book.authors)}`, description, openGraph: { title: book.title, description } };
}

export default async function BookPage({ params }: Props) {
  const { id } = await params;
  const [book, similar] = await Promise.all([getBook(id), similarBooks(id, 6)]);
  if (!book) notFound();
  return (
    <article className="space-y-8">
      <script type="application/ld+json" dangerouslySetInnerHTML={{ __html: bookJsonLd(book) }} />
      <div className="flex flex-col gap-6 md:flex-row">
        <Cover book={book} size="lg" />
        <div className="space-y-3">
          <h1 className="text-3xl font-bold">{book.title}</h1>
          <p className="text-lg">
            by{" "}
            {book.authors.map((a, i) => (
              <span key={a.id}>
                {i > 0 && ", "}
                {a.name}
              </span>
            ))}
          </p>
          <dl className="grid grid-cols-[8rem_1fr] gap-1 text-sm">
            {book.year !== null && (<><dt className="text-stone-600">Year</dt><dd>{book.year}</dd></>)}
            {book.language && (<><dt className="text-stone-600">Language</dt><dd>{book.language}</dd></>)}
            {book.genres.length > 0 && (<><dt className="text-stone-600">Genres</dt><dd>{book.genres.map((g, i) => (<span key={g}>{i > 0 && ", "}<Link className="underline" href={`/search?genre=${encodeURIComponent(g)}`}>{g}</Link></span>))}</dd></>)}
            {book.isbn13 && (<><dt className="text-stone-600">ISBN</dt><dd>{book.isbn13}</dd></>)}
            <dt className="text-stone-600">Catalogue id</dt>
            <dd>{book.id}</dd>
          </dl>
          <p className="text-2xl font-semibold">{formatPrice(book.price_cents, book.currency)}</p>
          <p data-testid="stock">{book.in_stock ? `${book.stock} in stock` : "Out of stock"}</p>
          <AddToCart book={book} />
        </div>
      </div>
      {book.description && (
        <section aria-labelledby="about">
          <h2 id="about" className="mb-2 text-xl font-semibold">About this book</h2>
          <p className="max-w-prose whitespace-pre-line leading-relaxed">{book.description}</p>
        </section>
      )}
      {similar.length > 0 && (
        <section aria-labelledby="similar">
          <h2 id="similar" className="mb-3 text-xl font-semibold">Similar books</h2>
          <div className="grid gap-3 md:grid-cols-2">
            {similar.map((b) => (<BookCard key={b.id} book={b} />))}
          </div>
        </section>
      )}
    </article>
  );
}
