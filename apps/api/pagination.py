from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """`?limit=&offset=` as DRF's, bounded: a limit or offset past PostgreSQL's bigint was a server error."""

    max_limit = 1000
    max_offset = 10**12  # past any real count: the page is simply empty

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), self.max_offset)
