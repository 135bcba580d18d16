"""Every route of the URLconf, with the HTTP methods its DRF view answers."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

API_METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    pattern: str  # as in the URLconf, e.g. "api/v1/layers/<int:layer_id>/"
    callback: object

    @property
    def drf_class(self):
        return getattr(self.callback, "cls", None)

    def api_methods(self) -> list[str]:
        return [m.upper() for m in API_METHODS if self.drf_class and hasattr(self.drf_class, m)]


def routes() -> list[Route]:
    found: dict[str, Route] = {}

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                found.setdefault(prefix + str(entry.pattern), Route(prefix + str(entry.pattern), entry.callback))

    walk(get_resolver().url_patterns, "")
    return list(found.values())


def path_for(pattern: str, values: dict) -> str:
    """The pattern with each <converter:name> replaced by values[name]."""
    import re

    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)
