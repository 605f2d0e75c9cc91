from django.db.models import Prefetch
from rest_framework import generics
from rest_framework.exceptions import ValidationError

from .models import Book, BookAuthor, BookGenre
from .serializers import BookSerializer, BookSummarySerializer

# Sort orders of GET /api/v1/books: (field, nulls_last) pairs, all descending, id last.
SORTS = {
    "popularity": [("popularity", False), ("id", False)],
    "rating": [("rating", True), ("id", False)],
}

# Columns no response shows (search and import bookkeeping), and the long description that a
# list page does not show: not read, as the C++ service does not read them either.
UNUSED = ("search_text", "authors_text", "content_hash")
SUMMARY_DEFERRED = UNUSED + ("description",)


def with_relations(queryset):
    """Authors and genres in their book order: one extra query each per page (prefetch)."""
    return queryset.prefetch_related(
        Prefetch("book_authors",
                 queryset=BookAuthor.objects.select_related("author").order_by("position")),
        Prefetch("book_genres",
                 queryset=BookGenre.objects.select_related("genre").order_by("position")),
    )


class BookList(generics.ListAPIView):
    """GET /api/v1/books?limit=&cursor=&genre=&sort=popularity|rating"""

    serializer_class = BookSummarySerializer

    def get_keyset(self):
        sort = self.request.query_params.get("sort", "popularity")
        if sort not in SORTS:
            raise ValidationError({"sort": f"must be one of {', '.join(SORTS)}"})
        return SORTS[sort]

    def get_queryset(self):
        queryset = Book.objects.defer(*SUMMARY_DEFERRED)
        genre = self.request.query_params.get("genre")
        if genre:
            queryset = queryset.filter(book_genres__genre__name=genre)
        return with_relations(queryset)


class BookDetail(generics.RetrieveAPIView):
    """GET /api/v1/books/{id} with id the public ext_id (e.g. pg-1342)."""

    serializer_class = BookSerializer
    lookup_field = "ext_id"
    lookup_url_kwarg = "id"
    queryset = with_relations(Book.objects.defer(*UNUSED))
