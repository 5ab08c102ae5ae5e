"""A diary whose cycles wear off on chosen days, for the wearing-off forecast's tests."""

import datetime as dt

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, Injection, Patient


def wearing_off_diary(
    patient: Patient,
    injected: list[dt.date],
    worse_from: list[int],
    products: list[str] | None = None,
    today: dt.date = TODAY,
) -> list[Injection]:
    """Injections on the `injected` dates (of `products`, Botox by default), and a log every
    day up to the day before `today`: 8 in the 14 days before the first injection; in each
    cycle 8 on days 0-6, 2 from day 7 (75 % relief) and 8 again from its day in `worse_from`
    (one for each finished cycle: the ongoing one stays at 2). Smoothed over 7 days, a cycle
    that is worse from day w wears off on day w + 1 (docs/clinical-rules.md, "Wearing-off")."""
    products = products or ["botox"] * len(injected)
    shots = [
        factories.InjectionFactory(patient=patient, date=day, product=product)
        for day, product in zip(injected, products, strict=True)
    ]
    severities = {injected[0] - dt.timedelta(days=n): 8 for n in range(1, 15)}
    ends = [*injected[1:], today]
    for start, end, worse in zip(injected, ends, [*worse_from, None], strict=True):
        for n in range((end - start).days):
            better = n >= 7 and (worse is None or n < worse)
            severities[start + dt.timedelta(days=n)] = 2 if better else 8
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=day, severity=severity)
        for day, severity in severities.items()
        if day < today
    )
    return shots
