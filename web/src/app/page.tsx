import Link from "next/link";
import { listBooks, listGenres } from "@/lib/data/catalog";
import { BookCard } from "@/modules/books/components/book-card";
import { CartPicks } from "@/modules/search/components/cart-picks";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const [genres, popular] = await Promise.all([listGenres(18), listBooks({ sort: "popularity", limit: 6 })]);
  return (
    <div className="space-y-10">
      <section className="rounded bg-amber-50 p-6">
        <h1 className="text-3xl font-bold">What do you feel like reading?</h1>
        <p className="mt-2 text-stone-700">Search by title or author, or describe a mood, a theme, a kind of story.</p>
        <form action="/search" className="mt-4 flex gap-2">
          <label htmlFor="home-q" className="sr-only">
            Describe a book
          </label>
          <input id="home-q" name="q" required placeholder="a sea voyage with a mad captain" className="flex-1 rounded border border-stone-300 px-3 py-2" />
          <button className="rounded bg-amber-700 px-4 py-2 font-medium text-white hover:bg-amber-800">Search</button>
        </form>
        <p className="mt-3 text-sm">
          Or <Link href="/ask" className="text-amber-800 underline">ask the AI for picks with reasons</Link>.
        </p>
      </section>
      <CartPicks />
      <section aria-labelledby="genres">
        <h2 id="genres" className="mb-3 text-xl font-semibold">Genres</h2>
        <ul className="flex flex-wrap gap-2">
          {genres.map((g) => (
            <li key={g.id}>
              <Link href={`/search?genre=${encodeURIComponent(g.name)}`} className="block rounded-full border border-stone-300 bg-white px-3 py-1 text-sm hover:bg-stone-100">
                {g.name} <span className="text-stone-500">({g.book_count})</span>
              </Link>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="popular">
        <h2 id="popular" className="mb-3 text-xl font-semibold">Most read</h2>
        <div className="grid gap-3 md:grid-cols-2">
          {popular.items.map((b) => (
            <BookCard key={b.id} book={b} />
          ))}
        </div>
      </section>
    </div>
  );
}
