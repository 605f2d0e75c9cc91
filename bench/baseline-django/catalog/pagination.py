"""Keyset ("cursor") pagination with the C++ service's envelope:
{"items": [...], "has_more": bool, "next_cursor": "<opaque>" | null}.

Like the C++ service it reads limit+1 rows (no COUNT query) and encodes the last row's sort key
and id in an opaque base64url cursor. The view names its ordering via `get_keyset()`: a list of
(field, nulls_last) pairs, all descending, the last one being the unique `id`."""
import base64
import json

from django.db.models import F, Q
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def encode_cursor(values):
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(text):
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        values = json.loads(raw)
    except (ValueError, TypeError):
        raise ValidationError({"cursor": "invalid cursor"})
    if not isinstance(values, list):
        raise ValidationError({"cursor": "invalid cursor"})
    return values


class KeysetPagination(BasePagination):
    def get_limit(self, request):
        raw = request.query_params.get("limit")
        if raw is None:
            return DEFAULT_LIMIT
        try:
            limit = int(raw)
        except ValueError:
            raise ValidationError({"limit": "must be an integer"})
        if not 1 <= limit <= MAX_LIMIT:
            raise ValidationError({"limit": f"must be 1..{MAX_LIMIT}"})
        return limit

    @staticmethod
    def after(keyset, values):
        """Rows strictly after `values` in the descending keyset order (NULLs last when asked)."""
        if len(values) != len(keyset):
            raise ValidationError({"cursor": "invalid cursor"})
        cond = Q()
        # Build from the last key outwards: (k1 < v1) OR (k1 = v1 AND rest).
        for (field, nulls_last), value in reversed(list(zip(keyset, values))):
            if value is None:
                # Only NULLs remain for this key (NULLs sort last).
                cond = Q(**{f"{field}__isnull": True}) & cond
            else:
                later = Q(**{f"{field}__lt": value})
                if nulls_last:
                    later |= Q(**{f"{field}__isnull": True})
                cond = later | (Q(**{field: value}) & cond) if cond else later
        return cond

    def paginate_queryset(self, queryset, request, view=None):
        self.limit = self.get_limit(request)
        keyset = view.get_keyset()
        order = [F(field).desc(nulls_last=True) if nulls_last else F(field).desc()
                 for field, nulls_last in keyset]
        queryset = queryset.order_by(*order)
        cursor = request.query_params.get("cursor")
        if cursor:
            queryset = queryset.filter(self.after(keyset, decode_cursor(cursor)))
        rows = list(queryset[: self.limit + 1])
        self.has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        self.next_cursor = None
        if self.has_more:
            last = rows[-1]
            self.next_cursor = encode_cursor([getattr(last, field) for field, _ in keyset])
        return rows

    def get_paginated_response(self, data):
        return Response({"items": data, "has_more": self.has_more, "next_cursor": self.next_cursor})
