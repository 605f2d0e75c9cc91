from django.urls import path

from .views import BookDetail, BookList

# No trailing slashes, like the C++ service (so CommonMiddleware never redirects).
urlpatterns = [
    path("books", BookList.as_view(), name="book-list"),
    path("books/<str:id>", BookDetail.as_view(), name="book-detail"),
]
