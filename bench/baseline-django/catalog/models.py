"""Unmanaged models over the tables that `libromind migrate` creates
(src/store/migrations/postgres/0001_catalog.sql). Django never creates or alters them."""
from django.db import models


class Author(models.Model):
    id = models.BigAutoField(primary_key=True)
    name = models.TextField(unique=True)

    class Meta:
        managed = False
        db_table = "authors"


class Genre(models.Model):
    id = models.BigAutoField(primary_key=True)
    name = models.TextField(unique=True)

    class Meta:
        managed = False
        db_table = "genres"


class Book(models.Model):
    id = models.BigAutoField(primary_key=True)
    ext_id = models.TextField(unique=True)
    isbn13 = models.TextField(unique=True, null=True)
    title = models.TextField()
    sort_title = models.TextField()
    search_text = models.TextField()
    authors_text = models.TextField(default="")
    description = models.TextField(default="")
    year = models.IntegerField(null=True)
    pages = models.IntegerField(null=True)
    language = models.TextField(null=True)
    rating = models.FloatField(null=True)
    popularity = models.BigIntegerField(default=0)
    cover_url = models.TextField(null=True)
    price_cents = models.BigIntegerField()
    currency = models.TextField(default="USD")
    stock = models.BigIntegerField()
    source = models.TextField(null=True)
    content_hash = models.TextField()
    change_seq = models.BigIntegerField()
    created_at = models.TextField()
    updated_at = models.TextField()

    class Meta:
        managed = False
        db_table = "books"

    @property
    def in_stock(self):
        return self.stock > 0


# The link tables have a composite primary key (book_id, author_id) that Django 3.2 cannot
# declare; book_id stands in as the "primary key". These models are only read.
class BookAuthor(models.Model):
    book = models.ForeignKey(Book, primary_key=True, on_delete=models.CASCADE,
                             related_name="book_authors", db_column="book_id")
    author = models.ForeignKey(Author, on_delete=models.DO_NOTHING, db_column="author_id")
    position = models.IntegerField()

    class Meta:
        managed = False
        db_table = "book_authors"


class BookGenre(models.Model):
    book = models.ForeignKey(Book, primary_key=True, on_delete=models.CASCADE,
                             related_name="book_genres", db_column="book_id")
    genre = models.ForeignKey(Genre, on_delete=models.DO_NOTHING, db_column="genre_id")
    position = models.IntegerField()

    class Meta:
        managed = False
        db_table = "book_genres"
