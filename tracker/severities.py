"""Many patients' check-in severities in one query, as one string per patient: for a clinic of
hundreds, one row per log was most of the list's time (DailyLogQuerySet.severities_by_patient)."""

from datetime import date
from functools import lru_cache

from django.db import models
from django.db.models import Value
from django.db.models.functions import Cast, Concat


class SeveritiesAsText(models.Aggregate):
    """The logs' "YYYY-MM-DD:severity" items, joined by commas, in no particular order."""

    function = "GROUP_CONCAT"
    output_field = models.TextField()

    def __init__(self, **extra):
        item = Concat(
            Cast("date", models.CharField()), Value(":"), Cast("severity", models.CharField())
        )
        super().__init__(item, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = "%(function)s(%(expressions)s, ',')"
        return self.as_sql(compiler, connection, function="STRING_AGG", template=template, **extra)


@lru_cache(maxsize=4096)
def parse_severities(text: str) -> tuple[tuple[date, int], ...]:
    """SeveritiesAsText's string as sorted pairs; remembered, as most patients' logs are the
    same from one look at the clinic list to the next."""
    pairs = (item.split(":") for item in text.split(","))
    return tuple(sorted((date.fromisoformat(day), int(score)) for day, score in pairs))
