"""Every diary date and every dose at its bounds, just inside and just outside, through every
door: the patient's forms, the clinic's form, the API and offline sync. Each door refuses with
the same words and saves nothing (docs/clinical-rules.md, "Dates a diary may hold" and "Dose
limits")."""

import datetime as dt
import uuid
import zoneinfo
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, client_for
from tracker import catalog
from tracker.catalog import unit_errors
from tracker.dates import DIARY_DATE_ERROR, EARLIEST_DIARY_DATE
from tracker.models import DailyLog, GlobalImpression, Injection, Reaction

pytestmark = pytest.mark.usefixtures("frozen_now")

ONE_DAY = dt.timedelta(days=1)
SYNC = reverse("api:sync")


def local_today(zone: str) -> dt.date:
    return NOW.astimezone(zoneinfo.ZoneInfo(zone)).date()


# At the frozen instant it is already the 16th on Kiritimati (UTC+14) and still the 15th on
# Adak (UTC-9 in June): the same day is today for one patient and tomorrow for the other.
KIRITIMATI, ADAK = "Pacific/Kiritimati", "America/Adak"
KIRITIMATI_TODAY, ADAK_TODAY = local_today(KIRITIMATI), local_today(ADAK)


def test_the_two_zones_are_a_day_apart_at_the_frozen_instant():
    assert KIRITIMATI_TODAY == ADAK_TODAY + ONE_DAY


# (the patient's time zone, the date, whether it may be saved)
DATE_CASES = [
    pytest.param("Europe/London", EARLIEST_DIARY_DATE - ONE_DAY, False, id="1989-12-31"),
    pytest.param("Europe/London", EARLIEST_DIARY_DATE, True, id="1990-01-01"),
    pytest.param(KIRITIMATI, KIRITIMATI_TODAY, True, id="Kiritimati-today"),
    pytest.param(KIRITIMATI, KIRITIMATI_TODAY + ONE_DAY, False, id="Kiritimati-tomorrow"),
    pytest.param(ADAK, ADAK_TODAY, True, id="Adak-today"),
    pytest.param(ADAK, KIRITIMATI_TODAY, False, id="Adak-tomorrow-Kiritimati-today"),
]


@pytest.fixture
def in_zone(patient):
    def move(zone: str):
        patient.time_zone = zone
        patient.save(update_fields=["time_zone"])
        return patient

    return move


@pytest.fixture
def clinic_web(clinician, logged_in):
    return logged_in(clinician)


@pytest.fixture
def api(patient):
    return client_for(patient.user)


def sync_one(api, item: dict) -> dict:
    response = api.post(SYNC, {"items": [item]}, format="json")
    assert response.status_code == 200
    return response.json()["results"][0]


def form_errors(response, field: str) -> list[str]:
    assert response.status_code == 200, "a refused form is shown again"
    return response.context["form"].errors.get(field, [])


def site_management(count: int) -> dict:
    return {
        "sites-TOTAL_FORMS": str(max(count, 1)),
        "sites-INITIAL_FORMS": "0",
        "sites-MIN_NUM_FORMS": "0",
        "sites-MAX_NUM_FORMS": "30",
    }


# Dates. Each door answers the errors it gave about the date ([] when it saved).


def log_by_form(client, api, patient, day: dt.date) -> list[str]:
    response = client.post(reverse("log_day", args=[day.isoformat()]), {"severity": "4"})
    assert response.status_code == 302
    shown = client.get(response.url).content.decode()
    return [DIARY_DATE_ERROR] if DIARY_DATE_ERROR in shown else []


def log_by_api(client, api, patient, day: dt.date) -> list[str]:
    response = api.put(
        reverse("api:log-detail", args=[day.isoformat()]), {"severity": 4}, format="json"
    )
    if response.status_code == 201:
        return []
    assert response.status_code == 400
    assert list(response.json()) == ["date"]
    return response.json()["date"]


def log_by_sync(client, api, patient, day: dt.date) -> list[str]:
    item = {"type": "log", "key": day.isoformat(), "data": {"severity": 4}}
    result = sync_one(api, item)
    if result["status"] == 201:
        return []
    assert result["status"] == 400
    assert list(result["errors"]) == ["key"]
    return result["errors"]["key"]


def injection_form_data(day: dt.date) -> dict:
    site = {"sites-0-muscle": "trapezius", "sites-0-side": "left", "sites-0-units": "100"}
    return {"date": day.isoformat(), "product": "botox", "total_units": "100"} | (
        site_management(1) | site
    )


def injection_by_form(client, api, patient, day: dt.date) -> list[str]:
    response = client.post(reverse("injection_new"), injection_form_data(day))
    return [] if response.status_code == 302 else form_errors(response, "date")


def injection_by_clinic(clinic_client, api, patient, day: dt.date) -> list[str]:
    url = reverse("clinic_injection_new", args=[patient.pk])
    response = clinic_client.post(url, injection_form_data(day))
    return [] if response.status_code == 302 else form_errors(response, "date")


def injection_body(day: dt.date) -> dict:
    sites = [{"muscle": "trapezius", "side": "left", "units": "100"}]
    return {"date": day.isoformat(), "product": "botox", "sites": sites}


def injection_by_api(client, api, patient, day: dt.date) -> list[str]:
    response = api.post(reverse("api:injection-list"), injection_body(day), format="json")
    if response.status_code == 201:
        return []
    assert response.status_code == 400
    assert list(response.json()) == ["date"]
    return response.json()["date"]


def injection_by_sync(client, api, patient, day: dt.date) -> list[str]:
    item = {"type": "injection", "key": str(uuid.uuid4()), "data": injection_body(day)}
    result = sync_one(api, item)
    if result["status"] == 201:
        return []
    assert result["status"] == 400
    assert list(result["errors"]) == ["date"]
    return result["errors"]["date"]


def reaction_form_data(onset: dt.date, resolved: dt.date | None) -> dict:
    return {
        "severity": "mild",
        "onset_date": onset.isoformat(),
        "resolved_date": resolved.isoformat() if resolved else "",
    }


def reaction_by_new_form(client, patient, field, onset, resolved) -> list[str]:
    data = {"kinds": ["headache"]} | reaction_form_data(onset, resolved)
    response = client.post(reverse("reaction_new"), data)
    return [] if response.status_code == 302 else form_errors(response, field)


def reaction_by_edit_form(client, patient, field, onset, resolved) -> list[str]:
    # An existing reaction moved to the dates: a refused edit leaves it as it was.
    reaction = factories.ReactionFactory(patient=patient, onset_date=EARLIEST_DIARY_DATE)
    data = {"kind": "headache"} | reaction_form_data(onset, resolved)
    response = client.post(reverse("reaction_edit", args=[reaction.pk]), data)
    if response.status_code == 302:
        return []
    reaction_before = Reaction.objects.get(pk=reaction.pk)
    assert (reaction_before.onset_date, reaction_before.version) == (EARLIEST_DIARY_DATE, 1)
    reaction.delete()
    return form_errors(response, field)


def reaction_body(onset: dt.date, resolved: dt.date | None) -> dict:
    return {
        "kind": "headache",
        "severity": "mild",
        "onset_date": onset.isoformat(),
        "resolved_date": resolved.isoformat() if resolved else None,
    }


def reaction_by_api(api, patient, field, onset, resolved) -> list[str]:
    body = reaction_body(onset, resolved)
    response = api.post(reverse("api:reaction-list"), body, format="json")
    if response.status_code == 201:
        return []
    assert response.status_code == 400
    assert list(response.json()) == [field]
    return response.json()[field]


def reaction_by_sync(api, patient, field, onset, resolved) -> list[str]:
    item = {"type": "reaction", "key": str(uuid.uuid4()), "data": reaction_body(onset, resolved)}
    result = sync_one(api, item)
    if result["status"] == 201:
        return []
    assert result["status"] == 400
    assert list(result["errors"]) == [field]
    return result["errors"][field]


LOG_DOORS = {"form": log_by_form, "api": log_by_api, "sync": log_by_sync}
INJECTION_DOORS = {
    "form": injection_by_form,
    "clinic form": injection_by_clinic,
    "api": injection_by_api,
    "sync": injection_by_sync,
}


@pytest.mark.parametrize("door", LOG_DOORS)
@pytest.mark.parametrize(("zone", "day", "allowed"), DATE_CASES)
def test_a_check_in_date_is_from_1990_to_the_patients_today(
    in_zone, web, api, door, zone, day, allowed
):
    patient = in_zone(zone)
    errors = LOG_DOORS[door](web, api, patient, day)
    if allowed:
        assert errors == []
        assert patient.logs.get().date == day
    else:
        assert errors == [DIARY_DATE_ERROR]
        assert not DailyLog.objects.exists()


@pytest.mark.parametrize("door", INJECTION_DOORS)
@pytest.mark.parametrize(("zone", "day", "allowed"), DATE_CASES)
def test_an_injection_date_is_from_1990_to_the_patients_today(
    in_zone, web, clinic_web, api, door, zone, day, allowed
):
    patient = in_zone(zone)
    client = clinic_web if door == "clinic form" else web
    errors = INJECTION_DOORS[door](client, api, patient, day)
    if allowed:
        assert errors == []
        assert patient.injections.get().date == day
    else:
        assert errors == [DIARY_DATE_ERROR]
        assert not Injection.objects.exists()


REACTION_DOORS = {
    "new form": lambda web, api, *args: reaction_by_new_form(web, *args),
    "edit form": lambda web, api, *args: reaction_by_edit_form(web, *args),
    "api": lambda web, api, *args: reaction_by_api(api, *args),
    "sync": lambda web, api, *args: reaction_by_sync(api, *args),
}


@pytest.mark.parametrize("door", REACTION_DOORS)
@pytest.mark.parametrize(("zone", "day", "allowed"), DATE_CASES)
def test_a_reaction_onset_is_from_1990_to_the_patients_today(
    in_zone, web, api, door, zone, day, allowed
):
    patient = in_zone(zone)
    errors = REACTION_DOORS[door](web, api, patient, "onset_date", day, None)
    if allowed:
        assert errors == []
        assert [r.onset_date for r in patient.reactions.all()] == [day]
    else:
        assert errors == [DIARY_DATE_ERROR]
        assert not Reaction.objects.exists()


@pytest.mark.parametrize("door", REACTION_DOORS)
@pytest.mark.parametrize(("zone", "day", "allowed"), DATE_CASES)
def test_a_reaction_resolved_date_is_from_1990_to_the_patients_today(
    in_zone, web, api, door, zone, day, allowed
):
    patient = in_zone(zone)
    onset = min(max(day, EARLIEST_DIARY_DATE), patient.today())  # itself within the bounds
    errors = REACTION_DOORS[door](web, api, patient, "resolved_date", onset, day)
    if allowed:
        assert errors == []
        assert [r.resolved_date for r in patient.reactions.all()] == [day]
    else:
        assert errors == [DIARY_DATE_ERROR]
        assert not Reaction.objects.exists()


@pytest.mark.parametrize("door", REACTION_DOORS)
@pytest.mark.parametrize(
    ("days_after_onset", "allowed"), [(-1, False), (0, True), (1, True)], ids=str
)
def test_a_reaction_resolves_on_or_after_its_onset(
    patient, web, api, door, days_after_onset, allowed
):
    onset = patient.today() - dt.timedelta(days=5)
    resolved = onset + dt.timedelta(days=days_after_onset)
    errors = REACTION_DOORS[door](web, api, patient, "resolved_date", onset, resolved)
    if allowed:
        assert errors == []
        assert [r.resolved_date for r in patient.reactions.all()] == [resolved]
    else:
        assert errors == ["It can't end before it started."]
        assert not Reaction.objects.exists()


@pytest.mark.parametrize("zone", [KIRITIMATI, ADAK])
def test_a_pgic_answer_is_dated_the_patients_own_today(in_zone, web, zone):
    patient = in_zone(zone)
    shot = factories.InjectionFactory(patient=patient, date=patient.today() - dt.timedelta(30))
    data = {"injection": str(shot.pk), "timepoint": "peak", "score": "2"}
    web.post(reverse("global_impression"), data)
    assert GlobalImpression.objects.get().date == local_today(zone)


@pytest.mark.parametrize(("zone", "day", "allowed"), DATE_CASES)
def test_a_pgic_answer_date_is_from_1990_to_the_patients_today(in_zone, zone, day, allowed):
    # The form dates the answer itself; the model holds any other writer to the same bounds.
    patient = in_zone(zone)
    shot = factories.InjectionFactory(patient=patient, date=EARLIEST_DIARY_DATE)
    answer = GlobalImpression(patient=patient, injection=shot, timepoint="peak", date=day, score=3)
    if allowed:
        answer.clean()
    else:
        with pytest.raises(ValidationError) as refused:
            answer.clean()
        assert refused.value.message_dict == {"date": [DIARY_DATE_ERROR]}


def test_a_check_in_day_page_before_1990_says_why_and_offers_no_earlier_day(web):
    response = web.get(reverse("log_day", args=["1989-12-31"]), follow=True)
    assert DIARY_DATE_ERROR in response.content.decode()
    first = web.get(reverse("log_day", args=["1990-01-01"])).content.decode()
    assert "Day before" not in first


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "9999-12-31"])
def test_a_day_page_far_outside_the_bounds_answers_without_an_error(web, day):
    response = web.get(reverse("log_day", args=[day]), follow=True)
    assert response.status_code == 200
    assert DIARY_DATE_ERROR in response.content.decode()


def stored_before_1990(patient) -> list[Callable[[], object]]:
    too_early = EARLIEST_DIARY_DATE - ONE_DAY
    shot = factories.InjectionFactory(patient=patient, date=EARLIEST_DIARY_DATE)
    return [
        lambda: factories.DailyLogFactory(patient=patient, date=too_early),
        lambda: factories.InjectionFactory(patient=patient, date=too_early),
        lambda: factories.ReactionFactory(patient=patient, onset_date=too_early),
        lambda: factories.ReactionFactory(
            patient=patient, onset_date=EARLIEST_DIARY_DATE, resolved_date=too_early
        ),
        lambda: GlobalImpression.objects.create(
            patient=patient, injection=shot, timepoint="peak", date=too_early, score=3
        ),
    ]


def test_the_database_refuses_every_diary_date_before_1990(patient):
    for store in stored_before_1990(patient):
        with pytest.raises(IntegrityError), transaction.atomic():
            store()


# Doses: for each product, just at and just above the soft stop (the label's maximum) and the
# hard stop (three times it), for a session's total and for one site.

TENTH = Decimal("0.1")


def dose_cases():
    for product in catalog.PRODUCTS:
        soft, hard = product.label_max_units, product.hard_stop_units
        for units, confirmed, outcome in [
            (soft, False, "saved"),
            (soft + TENTH, False, "confirm"),
            (soft + TENTH, True, "saved"),
            (hard, True, "saved"),
            (hard + TENTH, True, "typo"),
            (hard + TENTH, False, "typo"),
        ]:
            name = f"{product.code}-{units}-{'confirmed' if confirmed else 'unconfirmed'}"
            yield pytest.param(product.code, units, confirmed, outcome, id=name)


DOSE_CASES = list(dose_cases())
OUTCOME_WORDS = {
    "confirm": "confirm the dose and save again",
    "typo": "this looks like a typo",
}


def dose_form_data(product: str, units: Decimal, confirmed: bool, where: str) -> dict:
    data = {"date": (NOW.date() - ONE_DAY).isoformat(), "product": product}
    if confirmed:
        data["dose_confirmed"] = "on"
    if where == "total":
        return data | {"total_units": str(units)} | site_management(0)
    site = {"sites-0-muscle": "trapezius", "sites-0-side": "left", "sites-0-units": str(units)}
    return data | site_management(1) | site  # no total: the sum of the sites


def dose_errors_from_form(response) -> dict:
    if response.status_code == 302:
        return {}
    errors = {}
    if total := form_errors(response, "total_units"):
        errors["total_units"] = total
    for index, site in enumerate(response.context["sites"].forms):
        if site.errors.get("units"):
            errors[f"sites[{index}].units"] = site.errors["units"]
    assert errors, "refused for another reason"
    return errors


def dose_by_form(web, clinic_web, api, patient, *dose) -> dict:
    return dose_errors_from_form(web.post(reverse("injection_new"), dose_form_data(*dose)))


def dose_by_clinic(web, clinic_web, api, patient, *dose) -> dict:
    url = reverse("clinic_injection_new", args=[patient.pk])
    return dose_errors_from_form(clinic_web.post(url, dose_form_data(*dose)))


def dose_body(product: str, units: Decimal, confirmed: bool, where: str) -> dict:
    body = {
        "date": (NOW.date() - ONE_DAY).isoformat(),
        "product": product,
        "dose_confirmed": confirmed,
    }
    if where == "total":
        return body | {"total_units": str(units)}
    return body | {"sites": [{"muscle": "trapezius", "side": "left", "units": str(units)}]}


def flat_api_errors(errors: dict) -> dict:
    flat = {}
    if "total_units" in errors:
        flat["total_units"] = errors.pop("total_units")
    for index, site in enumerate(errors.pop("sites", [])):
        if site:
            assert list(site) == ["units"]
            flat[f"sites[{index}].units"] = site["units"]
    assert not errors, f"errors on other fields: {errors}"
    return flat


def dose_by_api(web, clinic_web, api, patient, *dose) -> dict:
    response = api.post(reverse("api:injection-list"), dose_body(*dose), format="json")
    if response.status_code == 201:
        return {}
    assert response.status_code == 400
    return flat_api_errors(response.json())


def dose_by_sync(web, clinic_web, api, patient, *dose) -> dict:
    item = {"type": "injection", "key": str(uuid.uuid4()), "data": dose_body(*dose)}
    result = sync_one(api, item)
    if result["status"] == 201:
        return {}
    assert result["status"] == 400
    return flat_api_errors(result["errors"])


DOSE_DOORS = {
    "form": dose_by_form,
    "clinic form": dose_by_clinic,
    "api": dose_by_api,
    "sync": dose_by_sync,
}


@pytest.mark.parametrize("where", ["total", "site"])
@pytest.mark.parametrize("door", DOSE_DOORS)
@pytest.mark.parametrize(("product", "units", "confirmed", "outcome"), DOSE_CASES)
def test_a_dose_above_the_label_maximum_needs_confirming_and_above_three_times_it_is_refused(
    patient, web, clinic_web, api, door, where, product, units, confirmed, outcome
):
    errors = DOSE_DOORS[door](web, clinic_web, api, patient, product, units, confirmed, where)
    if outcome == "saved":
        assert errors == {}
        saved = Injection.objects.get()
        assert (saved.product, saved.total_units, saved.dose_confirmed) == (
            product,
            units,
            confirmed,
        )
        return
    expected = unit_errors(product, units, confirmed)
    assert len(expected) == 1 and OUTCOME_WORDS[outcome] in expected[0]
    fields = ["total_units"] if where == "total" else ["total_units", "sites[0].units"]
    # A site's units are part of the total: a site over a stop puts the total over it too.
    assert errors == dict.fromkeys(fields, expected)
    assert not Injection.objects.exists()


@pytest.mark.parametrize("door", ["api", "sync"])
def test_the_api_names_the_site_whose_dose_is_refused_by_its_index(
    patient, web, clinic_web, api, door
):
    body = dose_body("botox", Decimal(10), False, "site")
    body["sites"].append({"muscle": "scalenes", "side": "right", "units": "1200.1"})
    if door == "api":
        response = api.post(reverse("api:injection-list"), body, format="json")
        assert response.status_code == 400
        errors = response.json()
    else:
        item = {"type": "injection", "key": str(uuid.uuid4()), "data": body}
        result = sync_one(api, item)
        assert result["status"] == 400
        errors = result["errors"]
    assert errors["sites"][0] == {}
    assert errors["sites"][1] == {"units": unit_errors("botox", Decimal("1200.1"))}
    assert not Injection.objects.exists()


def test_the_dose_words_name_the_product_and_its_maximum():
    assert unit_errors("dysport", Decimal("1500.1")) == [
        "1,500.1 units of Dysport is more than its label's maximum for one session "
        "(1,500 units). Check the number on the treatment record; if it is right, confirm the "
        "dose and save again."
    ]
    assert unit_errors("dysport", Decimal("4500.1"), confirmed=True) == [
        "4,500.1 units of Dysport is more than three times its label's maximum for one session "
        "(1,500 units): this looks like a typo. Check the number on the treatment record."
    ]


def test_a_patch_that_raises_a_confirmed_dose_must_confirm_it_again(patient, api):
    body = dose_body("botox", Decimal(500), True, "total")
    shot = api.post(reverse("api:injection-list"), body, format="json").json()
    url = reverse("api:injection-detail", args=[shot["id"]])
    refused = api.patch(url, {"total_units": "600"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"total_units": unit_errors("botox", Decimal(600))}
    kept = api.patch(url, {"total_units": "600", "dose_confirmed": True}, format="json")
    assert kept.status_code == 200
    assert Injection.objects.get().total_units == 600
