"""Time-window filters on lists, for clients that sync: ISO-8601, UTC where no offset is given."""

import django_filters

# A Django message: "%%" stands for a "%".
INVALID_TIME = (
    "Enter an ISO-8601 time such as 2026-12-07T15:00:00Z (UTC without an offset; "
    "in a URL, write a + in an offset as %%2B)."
)


def after(field_name: str, what: str) -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="gt",
        help_text=f"Only those {what} strictly after this ISO-8601 time.",
        error_messages={"invalid": INVALID_TIME},
    )


def before(field_name: str, what: str) -> django_filters.IsoDateTimeFilter:
    return django_filters.IsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="lt",
        help_text=f"Only those {what} strictly before this ISO-8601 time.",
        error_messages={"invalid": INVALID_TIME},
    )
