"""List pages: limit/offset as before, or cursor pages for clients that sync (an MES).

`?pagination=cursor` (or any `?cursor=`) switches a list to cursor pages: stable while rows are
added, with no `count`. A view that offers them names its orderings in `cursor_orderings`, the
first being the default.
"""

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination, CursorPagination, LimitOffsetPagination

MODES = ("offset", "cursor")


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` as DRF's, bounded: a limit or offset past PostgreSQL's bigint was a server error."""

    max_limit = 1000
    max_offset = 10**12  # past any real count: the page is simply empty

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), self.max_offset)


class SyncCursorPagination(CursorPagination):
    page_size_query_param = "limit"
    max_page_size = 1000

    def get_ordering(self, request, queryset, view):
        orderings: dict[str, tuple[str, ...]] = view.cursor_orderings
        name = request.query_params.get("ordering") or next(iter(orderings))
        if name not in orderings:
            raise ValidationError({"ordering": [f"Use one of {', '.join(orderings)}."]})
        return orderings[name]


class OffsetOrCursorPagination(BasePagination):
    """Limit/offset pages unless the request asks for cursor pages."""

    def __init__(self) -> None:
        self.offset = Pagination()
        self.cursor = SyncCursorPagination()
        self.active: BasePagination = self.offset

    def paginate_queryset(self, queryset, request, view=None):
        mode = request.query_params.get("pagination") or ("cursor" if "cursor" in request.query_params else "offset")
        if mode not in MODES:
            raise ValidationError({"pagination": [f"Use one of {', '.join(MODES)}."]})
        self.active = self.cursor if mode == "cursor" else self.offset
        return self.active.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data):
        return self.active.get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        body = self.offset.get_paginated_response_schema(schema)
        body["properties"]["count"]["description"] = "Absent from cursor pages."
        body["required"] = ["results"]
        return body

    def get_schema_operation_parameters(self, view):
        extra = [
            {
                "name": "pagination",
                "required": False,
                "in": "query",
                "description": "cursor for cursor pages (stable while rows are added); offset (the default) otherwise.",
                "schema": {"type": "string", "enum": list(MODES)},
            },
            {
                "name": "ordering",
                "required": False,
                "in": "query",
                "description": "Cursor pages only: the order to walk in.",
                "schema": {"type": "string", "enum": list(getattr(view, "cursor_orderings", {}))},
            },
        ]
        cursor = [p for p in self.cursor.get_schema_operation_parameters(view) if p["name"] == "cursor"]
        return self.offset.get_schema_operation_parameters(view) + cursor + extra

    @property
    def display_page_controls(self) -> bool:
        return self.active.display_page_controls

    def to_html(self):
        return self.active.to_html()
