"""Serializers that produce the same JSON as the C++ service: BookSummary and Book."""
from rest_framework import serializers

from .models import Book, BookAuthor


class BookAuthorSerializer(serializers.ModelSerializer):
    """{"id": <authors.id>, "name": ...} for one book_authors row."""

    id = serializers.IntegerField(source="author.id")
    name = serializers.CharField(source="author.name")

    class Meta:
        model = BookAuthor
        fields = ["id", "name"]


class GenreNameField(serializers.RelatedField):
    """A book_genres row rendered as its genre's name."""

    def to_representation(self, value):
        return value.genre.name


class BookSummarySerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="ext_id")
    authors = BookAuthorSerializer(source="book_authors", many=True, read_only=True)
    genres = GenreNameField(source="book_genres", many=True, read_only=True)
    in_stock = serializers.BooleanField(read_only=True)

    class Meta:
        model = Book
        fields = [
            "id", "title", "authors", "genres", "language", "year", "rating", "popularity",
            "cover_url", "price_cents", "currency", "stock", "in_stock",
        ]


class BookSerializer(BookSummarySerializer):
    class Meta(BookSummarySerializer.Meta):
        fields = BookSummarySerializer.Meta.fields + [
            "description", "isbn13", "pages", "source", "change_seq", "created_at", "updated_at",
        ]
