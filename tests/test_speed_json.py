"""The list API's JSON, compact (issue 14): 1,800 check-ins in about 10 KB gzipped."""

import datetime as dt
import gzip
import re

import pytest

from tests.conftest import TODAY, client_for
from tracker.models import DailyLog

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def five_years_of_check_ins(patient):
    DailyLog.objects.bulk_create(
        DailyLog(patient=patient, date=TODAY - dt.timedelta(days=n), severity=(n * 7) % 11)
        for n in range(1800)
    )
    return patient


def test_1800_check_ins_are_listed_in_under_10_kb_gzipped(five_years_of_check_ins):
    api = client_for(five_years_of_check_ins.user)

    pages = [
        api.get(f"/api/v1/logs/?limit=1000&offset={offset}", HTTP_ACCEPT_ENCODING="gzip")
        for offset in (0, 1000)
    ]

    assert all(page["Content-Encoding"] == "gzip" for page in pages)
    bodies = [gzip.decompress(page.content) for page in pages]
    assert sum(body.count(b'"severity"') for body in bodies) == 1800
    assert sum(len(page.content) for page in pages) <= 10_000


def test_the_list_gives_each_time_to_the_second_and_every_field(five_years_of_check_ins):
    api = client_for(five_years_of_check_ins.user)

    entry = api.get("/api/v1/logs/?limit=1").json()["results"][0]
    one = api.get(f"/api/v1/logs/{entry['date']}/").json()

    assert set(entry) == set(one)  # the schema's fields, the nulls too: clients read them
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", entry["updated_at"])
    assert one["updated_at"].startswith(entry["updated_at"][:19])


def test_the_schema_still_describes_the_list(db):
    from tests.factories import PatientFactory

    api = client_for(PatientFactory().user)
    schema = api.get("/api/schema/?format=json").json()

    listed = schema["paths"]["/api/v1/logs/"]["get"]["responses"]["200"]
    assert "updated_at" in str(schema["components"]["schemas"]) and listed
