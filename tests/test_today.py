"""Today in the days after an injection: the aftercare, the warning signs, the wearing-off
forecast with the suggestion to book, and one form for the check-in and the PGIC
(docs/clinical-rules.md, "Aftercare", "Wearing-off forecast" and "PGIC")."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY
from tests.cycles import wearing_off_diary
from tracker import catalog, notify, relief
from tracker.models import DailyLog, GlobalImpression, relief_settings

pytestmark = pytest.mark.usefixtures("frozen_now")

KIRITIMATI = "Pacific/Kiritimati"  # at the frozen instant it is already the 16th there


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def today_html(web) -> str:
    return web.get(reverse("today")).content.decode()


# Aftercare and the warning signs.


@pytest.mark.parametrize(
    ("injected_days_ago", "heading"),
    [
        (0, "Aftercare for today"),
        (1, "Aftercare: the day after your injection"),
        (2, None),
        (30, None),
    ],
)
def test_aftercare_shows_on_the_injection_day_and_the_next_only(
    web, patient, injected_days_ago, heading
):
    factories.InjectionFactory(patient=patient, date=days_ago(injected_days_ago))
    html = today_html(web)
    if heading:
        assert heading in html
        assert "Ice helps in the first day: 20 minutes on, 20 minutes off." in html
        assert "Your clinic's own instructions come first." in html
    else:
        assert "Aftercare" not in html
        assert "20 minutes on" not in html


def test_aftercare_follows_the_patients_own_dates(web, patient):
    # Injected on the 15th, which has ended on Kiritimati: there it is the day after.
    patient.time_zone = KIRITIMATI
    patient.save(update_fields=["time_zone"])
    factories.InjectionFactory(patient=patient, date=NOW.date())
    html = today_html(web)
    assert "Aftercare: the day after your injection" in html
    assert "Aftercare for today" not in html


def test_on_the_injection_day_the_aftercare_says_rest_today_and_voice_patients_rest_their_voice(
    web, patient
):
    patient.conditions.create(condition="spasmodic_dysphonia")
    factories.InjectionFactory(patient=patient, date=TODAY)
    html = today_html(web)
    assert "for the rest of today" in html
    assert "Rest your voice today." in html


def test_the_day_after_the_aftercare_speaks_of_the_injection_day(web, patient):
    patient.conditions.create(condition="spasmodic_dysphonia")
    factories.InjectionFactory(patient=patient, date=days_ago(1))
    html = today_html(web)
    assert "On the day of the injection, rest the treated muscles" in html
    assert "Rest your voice on the day of the injection." in html
    assert "today" not in html.split("aftercare-title")[1].split("</section>")[0]


@pytest.mark.parametrize(("injected_days_ago", "shown"), [(0, True), (28, True), (29, False)])
def test_the_warning_signs_of_both_tiers_are_one_tap_away_for_four_weeks(
    web, patient, injected_days_ago, shown
):
    factories.InjectionFactory(patient=patient, date=days_ago(injected_days_ago))
    html = today_html(web)
    assert ('<details class="more watch-for">' in html) is shown
    signs = catalog.GET_HELP_NOW_REACTIONS + catalog.CONTACT_CLINIC_REACTIONS
    for label in [*catalog.RED_FLAG_TIER_LABELS.values(), *(text for _, text in signs)]:
        assert (label in html) is shown, label
    if shown:
        assert 'href="tel:999"' in html  # the emergency number of a London patient


def test_a_day_of_the_past_shows_no_aftercare_nor_warning_signs(web, patient):
    factories.InjectionFactory(patient=patient, date=days_ago(2))
    html = web.get(reverse("log_day", args=[days_ago(1).isoformat()])).content.decode()
    assert "Aftercare" not in html
    assert "watch-for" not in html


@pytest.mark.parametrize(
    ("injected_days_ago", "heading"),
    [
        (0, "Saved. Aftercare for today"),
        (1, "Saved. Aftercare: the day after your injection"),
        (32, "<h1>Saved</h1>"),
    ],
)
def test_the_aftercare_after_saving_an_injection_names_its_day(
    web, patient, injected_days_ago, heading
):
    shot = factories.InjectionFactory(patient=patient, date=days_ago(injected_days_ago))
    html = web.get(reverse("injection_detail", args=[shot.pk]) + "?saved=1").content.decode()
    assert heading in html
    assert "20 minutes on, 20 minutes off" in html
    if injected_days_ago > 1:
        assert "for today" not in html
        assert "<summary>Aftercare after an injection</summary>" in html
        assert "watch-for" not in html  # more than four weeks ago
    else:
        assert '<details class="more watch-for">' in html


# The wearing-off forecast.


def forecast_of(patient) -> relief.Forecast:
    cycles, products = patient.relief_cycles_and_products()
    return relief.wearing_off_forecast(cycles, products, relief_settings())


def test_without_a_forecast_today_says_why(web, patient):
    wearing_off_diary(patient, [days_ago(150), days_ago(60)], worse_from=[70])
    html = today_html(web)
    assert "No wearing-off forecast yet." in html
    assert "Needs two finished cycles of Botox that wore off; 1 so far." in html
    assert "book" not in html.lower()


def test_earlier_cycles_of_another_product_give_no_forecast(web, patient):
    wearing_off_diary(
        patient,
        [days_ago(240), days_ago(150), days_ago(60)],
        worse_from=[69, 70],
        products=["dysport", "dysport", "botox"],
    )
    assert forecast_of(patient).day is None
    assert "Needs two finished cycles of Botox that wore off; none so far." in today_html(web)


def test_the_forecast_day_is_the_same_on_every_page_and_in_the_reminder(
    patient, clinician, logged_in
):
    # The two earlier cycles wear off on days 70 and 71: a median of 70.5, shown as day 71.
    patient.reminder_time = dt.time(13, 0)
    patient.save(update_fields=["reminder_time"])
    wearing_off_diary(patient, [days_ago(246), days_ago(156), days_ago(66)], worse_from=[69, 70])
    cycles, products = patient.relief_cycles_and_products()
    assert [cycle.wearing_off_day for cycle in cycles] == [70, 71, None]
    forecast = relief.wearing_off_forecast(cycles, products, relief_settings())
    assert (forecast.day, forecast.earliest, forecast.latest) == (71, 70, 71)
    assert forecast.date == days_ago(66) + dt.timedelta(days=71)

    web, clinic = logged_in(patient.user), logged_in(clinician)
    pages = [
        web.get(reverse("today")),
        web.get(reverse("relief")),
        clinic.get(reverse("clinic_report", args=[patient.pk])),
        clinic.get(reverse("clinic_summary", args=[patient.pk])),
    ]
    for page in pages:
        html = page.content.decode()
        assert "usually wears off around <strong>day 71</strong> (20 Jun)" in html
        assert "wore off between day 70 and day 71" in html
    for page in pages[1:3]:  # the overlay chart
        assert "Usually wears off: day 71" in page.content.decode()
    assert "usually wore off on day 71" in pages[1].content.decode()

    body = web.get(reverse("api:cycle-overlay")).json()
    assert body["forecast_wearing_off_day"] == 71
    assert body["forecast_date"] == "2026-06-20"
    assert (body["forecast_earliest_day"], body["forecast_latest_day"]) == (70, 71)
    assert body["forecast_reason"] is None

    notify.send_due_reminders()
    assert "Your relief usually wears off around day 71:" in mail.outbox[0].body


def test_the_api_says_why_there_is_no_forecast(patient, logged_in):
    wearing_off_diary(patient, [days_ago(150), days_ago(60)], worse_from=[70])
    body = logged_in(patient.user).get(reverse("api:cycle-overlay")).json()
    assert body["forecast_wearing_off_day"] is None
    assert body["forecast_date"] is None
    assert body["forecast_reason"] == "Needs two finished cycles of Botox that wore off; 1 so far."


@pytest.mark.parametrize(
    ("current_days_ago", "days_away", "suggested", "calendar"),
    [
        (40, 31, False, False),  # the forecast (day 71) 31 days away
        (50, 21, True, True),
        (71, 0, True, True),
        (80, -9, True, False),  # already past: book, but no calendar entry in the past
    ],
)
def test_today_suggests_booking_once_the_forecast_date_is_21_days_away_or_less(
    web, patient, current_days_ago, days_away, suggested, calendar
):
    earlier = [current_days_ago + 180, current_days_ago + 90]
    wearing_off_diary(
        patient, [days_ago(n) for n in [*earlier, current_days_ago]], worse_from=[69, 70]
    )
    forecast = forecast_of(patient)
    assert (forecast.date - TODAY).days == days_away
    html = today_html(web)
    assert ("Time to book your next appointment" in html) is suggested
    assert (reverse("next_appointment_ics") in html) is calendar


# The calendar file.


def test_the_calendar_file_is_one_all_day_event_on_the_forecast_date(web, patient):
    wearing_off_diary(patient, [days_ago(246), days_ago(156), days_ago(66)], worse_from=[69, 70])
    response = web.get(reverse("next_appointment_ics"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="next-appointment.ics"'
    body = response.content.decode()
    lines = body.split("\r\n")
    assert body.endswith("\r\n") and all(len(line.encode()) <= 75 for line in lines)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert lines[-2] == "END:VCALENDAR"
    assert [line for line in lines if line.startswith(("BEGIN:", "END:"))] == [
        "BEGIN:VCALENDAR",
        "BEGIN:VEVENT",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    assert fields["DTSTART;VALUE=DATE"] == "20260620"
    assert fields["DTEND;VALUE=DATE"] == "20260621"
    assert fields["DTSTAMP"] == "20260615T120000Z"
    assert fields["SUMMARY"] == (
        "Botulinum toxin appointment (relief usually wears off around here)"
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", fields["UID"])
    # Nothing else of the diary: no product, dose, name or score.
    assert set(fields) == {
        *("BEGIN", "END", "VERSION", "PRODID", "CALSCALE", "METHOD"),
        *("UID", "DTSTAMP", "DTSTART;VALUE=DATE", "DTEND;VALUE=DATE", "SUMMARY", "TRANSP"),
    }
    assert "botox" not in body.lower()
    # The same event each time, so that a calendar updates it rather than adding another.
    assert web.get(reverse("next_appointment_ics")).content.decode() == body


def test_the_calendar_file_is_404_without_a_forecast(web, patient):
    wearing_off_diary(patient, [days_ago(150), days_ago(60)], worse_from=[70])
    assert web.get(reverse("next_appointment_ics")).status_code == 404


def test_only_the_patient_gets_their_calendar_file(patient, clinician, other_patient, logged_in):
    wearing_off_diary(patient, [days_ago(246), days_ago(156), days_ago(66)], worse_from=[69, 70])
    url = reverse("next_appointment_ics")
    assert logged_in(patient.user).get(url).status_code == 200
    assert logged_in(clinician).get(url).status_code == 404  # the clinician has no diary
    assert logged_in(other_patient.user).get(url).status_code == 404  # their own: none
    assert logged_in(patient.user).post(url).status_code == 405


# One form for the check-in and the PGIC.


@pytest.fixture
def pgic_due(patient):
    """Day 30 of the cycle: the PGIC question (weeks 4 to 6) is on Today."""
    return factories.InjectionFactory(patient=patient, date=days_ago(30))


def checkin(shot, **fields) -> dict:
    return {
        "_outbox_type": "log",
        "_outbox_key": TODAY.isoformat(),
        "pgic-injection": str(shot.pk),
        "pgic-timepoint": "peak",
        **fields,
    }


def test_the_pgic_question_is_part_of_the_check_in_form(web, pgic_due):
    html = today_html(web)
    form = html.split('<form method="post" class="checkin"')[1].split("</form>")[0]
    assert "A question for this cycle" in form
    assert 'name="pgic-score"' in form and 'name="severity"' in form
    assert reverse("global_impression") not in html
    # One form: each severity saves the answer chosen with it (one tap keeps both).
    assert form.count('type="submit" name="severity"') == 12  # the scale, and More's Save


def test_saving_the_severity_and_the_pgic_answer_keeps_both(web, patient, pgic_due):
    response = web.post(reverse("today"), checkin(pgic_due, severity="4", **{"pgic-score": "2"}))
    assert response.status_code == 302
    assert DailyLog.objects.get().severity == 4
    answer = GlobalImpression.objects.get()
    assert (answer.injection, answer.timepoint, answer.score, answer.date) == (
        pgic_due,
        "peak",
        2,
        TODAY,
    )
    page = web.get(response.url).content.decode()
    assert "Saved: 4 out of 10, and your answer about this cycle. Thank you." in page
    assert "A question for this cycle" not in page  # answered


SAVED_BOTH = "Saved: 4 out of 10, and your answer about this cycle. Thank you."


def test_the_service_workers_fresh_copies_leave_the_saves_message_to_the_page_opened(web, pgic_due):
    # After each page load the service worker fetches the pages needed offline (sw.js,
    # warmPages). One that reached the server between a save and the page it leads to took
    # the save's message, and the person never saw it (a browser test caught it).
    response = web.post(reverse("today"), checkin(pgic_due, severity="4", **{"pgic-score": "2"}))

    for page in ["/today/", "/injections/new/", "/reactions/new/", "/offline/"]:
        copy = web.get(page, HTTP_X_RELIEF_WARM="1")
        assert copy.status_code == 200 and SAVED_BOTH not in copy.content.decode()
    assert SAVED_BOTH in web.get(response.url).content.decode()
    assert SAVED_BOTH not in web.get(response.url).content.decode()  # shown once


def test_the_service_worker_marks_its_fresh_copies(client):
    service_worker = client.get("/sw.js").content.decode()
    warm = service_worker.split("async function warmPages")[1].split("\n}\n")[0]
    assert 'headers: { "X-Relief-Warm": "1" }' in warm


def test_saving_the_severity_without_the_pgic_answer_leaves_the_question_open(web, pgic_due):
    web.post(reverse("today"), checkin(pgic_due, severity="6"))
    assert DailyLog.objects.get().severity == 6
    assert not GlobalImpression.objects.exists()
    assert "A question for this cycle" in today_html(web)


def test_answering_the_pgic_after_checking_in_keeps_the_days_score(web, patient, pgic_due):
    log = factories.DailyLogFactory(patient=patient, date=TODAY, severity=3, note="Stiff")
    version = DailyLog.objects.get().version
    web.post(reverse("today"), checkin(pgic_due, severity="3", note="Stiff", **{"pgic-score": "5"}))
    log.refresh_from_db()
    assert (log.severity, log.note, log.version) == (3, "Stiff", version)  # not written again
    assert GlobalImpression.objects.get().score == 5


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        pytest.param({"pgic-score": "2"}, "Choose a number from 0 to 10.", id="no severity"),
        pytest.param({"severity": "4", "pgic-score": "9"}, "Select a valid choice.", id="bad pgic"),
        pytest.param(
            {"severity": "4", "pgic-score": "2", "pain": "11"},
            "Select a valid choice.",
            id="bad pain",
        ),
    ],
)
def test_a_validation_error_saves_nothing_and_keeps_every_other_answer(
    web, pgic_due, fields, error
):
    data = checkin(pgic_due, note="Bad morning", spasm_frequency="2", **fields)
    response = web.post(reverse("today"), data)
    assert response.status_code == 200
    assert not DailyLog.objects.exists() and not GlobalImpression.objects.exists()
    html = response.content.decode()
    assert error in html
    assert "Bad morning" in html
    assert 'name="spasm_frequency" value="2" id="id_spasm_frequency_2" checked' in html
    if fields.get("severity") == "4":  # the tapped number stays pressed
        assert re.search(r'name="severity" value="4"[^>]* aria-pressed="true"', html)
    if fields.get("pgic-score") == "2":
        assert re.search(r'name="pgic-score" value="2"[^>]* checked', html)
