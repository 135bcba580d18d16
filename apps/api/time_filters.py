"""Time-window filters on lists, for clients that sync: ISO-8601, UTC where no offset is given."""

import datetime as dt

import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

# A Django message: "%%" stands for a "%".
INVALID_TIME = (
    "Enter an ISO-8601 time such as 2026-12-07T15:00:00Z (UTC without an offset; "
    "in a URL, write a + in an offset as %%2B)."
)


class UtcIsoDateTimeField(IsoDateTimeField):
    """Any offset Python reads (up to ±23:59), handed to the database in UTC: PostgreSQL refuses
    offsets past ±15:59."""

    def clean(self, value):
        value = super().clean(value)
        if value is None:
            return value
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("That time is outside the range of times layerwatch stores.") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def after(field_name: str, what: str) -> django_filters.IsoDateTimeFilter:
    return UtcIsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="gt",
        help_text=f"Only those {what} strictly after this ISO-8601 time.",
        error_messages={"invalid": INVALID_TIME},
    )


def before(field_name: str, what: str) -> django_filters.IsoDateTimeFilter:
    return UtcIsoDateTimeFilter(
        field_name=field_name,
        lookup_expr="lt",
        help_text=f"Only those {what} strictly before this ISO-8601 time.",
        error_messages={"invalid": INVALID_TIME},
    )
