"""Settings of the Django + DRF baseline, read from the environment.

DATABASE_URL   postgresql://user:pass@host:port/db (or sqlite:///abs/path.db); required
CONN_MAX_AGE   seconds a worker keeps its database connection (default 600: persistent, as a
               production deployment would run it; 0 opens one connection per request)
SECRET_KEY     any string (a fixed development default is used otherwise)
"""
import os
from urllib.parse import unquote, urlsplit

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def database_from_url(url):
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    conn_max_age = int(os.environ.get("CONN_MAX_AGE", "600"))
    if scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": conn_max_age,
        }
    if scheme == "sqlite":
        # sqlite:///abs/path.db -> /abs/path.db ; sqlite://rel/path.db -> rel/path.db
        path = url[len("sqlite://"):]
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "CONN_MAX_AGE": conn_max_age}
    raise ValueError(f"unsupported DATABASE_URL scheme: {scheme!r}")


SECRET_KEY = os.environ.get("SECRET_KEY", "libromind-bench-baseline-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "catalog",
]

# No sessions, CSRF or auth middleware: the three endpoints are public reads. Keeping the
# stack lean only favours the baseline.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "bookstore.urls"
WSGI_APPLICATION = "bookstore.wsgi.application"

DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The link tables use book_id as a stand-in primary key (see catalog/models.py).
SILENCED_SYSTEM_CHECKS = ["fields.W342"]

USE_I18N = False
USE_TZ = True
TIME_ZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "catalog.pagination.KeysetPagination",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
