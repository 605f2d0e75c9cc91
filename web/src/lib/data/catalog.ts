// Catalogue reads for server components (the book, search and home pages render on the server).
import "server-only";
import { ApiError, apiClient, serverApiUrl, unwrap } from "@/lib/api/client";
import type { paths } from "@/lib/api/schema";
import type { Book, BookPage, BookSummary, GenrePage, SearchResponse } from "@/lib/api/types";

const api = () => apiClient(serverApiUrl());

export type SearchQuery = NonNullable<paths["/api/v1/search"]["get"]["parameters"]["query"]>;
export type BookListQuery = NonNullable<paths["/api/v1/books"]["get"]["parameters"]["query"]>;

export async function getBook(id: string): Promise<Book | null> {
  const r = await api().GET("/api/v1/books/{id}", { params: { path: { id } }, cache: "no-store" });
  if (r.response.status === 404) return null;
  return unwrap(r);
}

export async function similarBooks(id: string, limit = 8): Promise<BookSummary[]> {
  const r = await api().GET("/api/v1/books/{id}/similar", { params: { path: { id }, query: { limit } }, cache: "no-store" });
  // Similar books are an extra: a search index still building must not break the book page.
  if (!r.response.ok) return [];
  return (r.data?.items ?? []).map((i) => i.book);
}

export async function listGenres(limit = 24): Promise<GenrePage["items"]> {
  const r = await api().GET("/api/v1/genres", { params: { query: { limit } }, next: { revalidate: 300 } });
  return unwrap(r).items;
}

export async function listBooks(query: BookListQuery): Promise<BookPage> {
  return unwrap(await api().GET("/api/v1/books", { params: { query }, cache: "no-store" }));
}

export async function searchBooks(query: SearchQuery): Promise<SearchResponse> {
  return unwrap(await api().GET("/api/v1/search", { params: { query }, cache: "no-store" }));
}

export { ApiError };
