"""Today's check-in in one tap, on the server: each number its own submit button, "Saved: 6 —
change" with Undo, the extra measures folded unless the patient left them open, a past day in
its own words, and a deleted day logged again from the outbox."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, Tombstone
from tracker.sync import sync_items

pytestmark = pytest.mark.usefixtures("frozen_now")


def page(client, url=None) -> str:
    return client.get(url or reverse("today")).content.decode()


def status_line(html: str) -> str:
    said = re.search(r"data-checkin-said>(.*?)</p>", html, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", said)).strip()


def test_each_number_of_the_scale_is_its_own_submit_button(web):
    html = page(web)

    for n in range(11):
        assert re.search(rf'<button type="submit" name="severity" value="{n}"[^>]*data-tap', html)
    assert 'type="radio" name="severity"' not in html
    assert status_line(html) == "Not logged yet."


def test_one_tap_saves_and_says_saved_with_undo(web, patient):
    response = web.post(reverse("today"), {"severity": "6"})

    assert response["Location"] == reverse("today")
    assert DailyLog.objects.get(patient=patient).severity == 6
    html = page(web)
    assert status_line(html) == "Saved: 6 — change"
    assert 'href="#checkin-scale"' in html
    assert re.search(r'name="undo" value="1"[^>]*>Undo<', html)
    assert re.search(r'name="severity" value="6"[^>]*aria-pressed="true"', html)


def test_undo_takes_a_first_check_in_back_to_no_check_in(web, patient):
    web.post(reverse("today"), {"severity": "6"})

    web.post(reverse("today"), {"undo": "1"})

    assert not DailyLog.objects.filter(patient=patient).exists()
    html = page(web)
    assert "Undone: this day is not logged." in html
    assert status_line(html) == "Not logged yet."


def test_undo_takes_a_changed_check_in_back_to_its_earlier_values(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=3, pain=2, note="Stiff")

    web.post(reverse("today"), {"severity": "8", "pain": "5", "note": "Worse"})
    web.post(reverse("today"), {"undo": "1"})

    log = DailyLog.objects.get(patient=patient)
    assert (log.severity, log.pain, log.note) == (3, 2, "Stiff")
    assert "Undone: back to 3 out of 10." in page(web)


def test_undo_changes_nothing_once_the_day_changed_elsewhere(web, patient):
    web.post(reverse("today"), {"severity": "6"})
    log = DailyLog.objects.get(patient=patient)
    log.severity = 2
    log.save()  # another phone, a moment later

    web.post(reverse("today"), {"undo": "1"})

    assert DailyLog.objects.get(patient=patient).severity == 2
    assert "Nothing to undo" in page(web)


def test_undo_is_not_offered_nor_honoured_after_two_minutes(web, patient, frozen_now):
    web.post(reverse("today"), {"severity": "6"})
    frozen_now.shift(dt.timedelta(seconds=121))

    assert 'name="undo"' not in page(web)
    web.post(reverse("today"), {"undo": "1"})
    assert DailyLog.objects.get(patient=patient).severity == 6


def test_saving_the_same_number_again_offers_no_undo(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=4)

    web.post(reverse("today"), {"severity": "4"})

    html = page(web)
    assert 'name="undo"' not in html
    assert status_line(html) == "✓ Logged: 4 out of 10."


def test_the_extra_measures_stay_folded_even_when_the_day_has_them(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=4, pain=6, note="Long day")

    html = page(web)

    assert re.search(r"<details class=\"more\" data-more>", html)  # not open


def test_opening_the_extra_measures_is_remembered(web, patient):
    response = web.post(reverse("today"), {"more_open": "1"})

    assert response.status_code == 204
    patient.refresh_from_db()
    assert patient.checkin_more_open
    assert '<details class="more" data-more open>' in page(web)
    assert not DailyLog.objects.exists()  # a preference, not a check-in

    web.post(reverse("today"), {"more_open": "0"})
    patient.refresh_from_db()
    assert not patient.checkin_more_open


def test_an_error_in_the_extra_measures_opens_them(web, patient):
    html = web.post(reverse("today"), {"severity": "4", "pain": "11"}).content.decode()

    assert '<details class="more" data-more open>' in html


def test_saving_the_extra_measures_keeps_the_days_number(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=4)
    html = page(web)
    more = html.split("<details")[1].split("</details>")[0]
    assert 'name="severity" value="4"' in more  # More's Save carries the day's number

    web.post(reverse("today"), {"severity": "4", "pain": "3"})

    log = DailyLog.objects.get(patient=patient)
    assert (log.severity, log.pain) == (4, 3)


def test_more_saved_before_any_number_asks_for_the_number_on_the_scale(web, patient):
    response = web.post(reverse("today"), {"severity": "", "pain": "3"})

    html = response.content.decode()
    legend = html.split('id="checkin-scale"')[1].split("</legend>")[0]
    assert "Choose a number from 0 to 10." in legend
    assert not DailyLog.objects.exists()


def test_a_past_day_speaks_of_that_day_never_of_today_or_yet(web, patient):
    day = TODAY - dt.timedelta(days=2)
    html = page(web, reverse("log_day", args=[day.isoformat()]))

    title = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
    assert re.sub(r"<[^>]+>|\s+", " ", title).split() == [
        "How",
        "was",
        *f"{day:%A} {day.day} {day:%B}?".split(),
    ]
    assert status_line(html) == "Not logged."
    main = html.split('<main id="main"')[1].split('<nav class="day-nav"')[0]
    assert " yet" not in main
    assert "today?" not in main.lower()

    factories.DailyLogFactory(patient=patient, date=day, severity=5)
    assert status_line(page(web, reverse("log_day", args=[day.isoformat()]))) == (
        "✓ Logged: 5 out of 10."
    )


def test_a_day_whose_check_in_was_deleted_is_logged_again_from_the_outbox(web, patient):
    log = factories.DailyLogFactory(patient=patient, date=TODAY, severity=4)
    log.save()  # version 2
    log.delete()
    html = page(web)
    version = int(re.search(r'name="_outbox_version" value="(\d+)"', html).group(1))
    assert version == Tombstone.objects.get(patient=patient).version == 2

    [answer] = sync_items(
        patient,
        patient.user,
        [
            {
                "type": "log",
                "op": "put",
                "key": TODAY.isoformat(),
                "base_version": version,
                "data": {"severity": 7},
            }
        ],
    )

    assert answer["status"] in {200, 201}
    assert DailyLog.objects.get(patient=patient).severity == 7


def test_a_clinician_has_no_check_in_page_to_tap_undo_or_fold(logged_in, clinician, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=4)
    client = logged_in(clinician)

    for data in ({"severity": "9"}, {"undo": "1"}, {"more_open": "1"}):
        assert client.post(reverse("today"), data).status_code == 404
    assert DailyLog.objects.get(patient=patient).severity == 4
    patient.refresh_from_db()
    assert not patient.checkin_more_open


def test_another_patients_taps_and_undo_touch_only_their_own_diary(
    logged_in, patient, other_patient
):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=4)
    client = logged_in(other_patient.user)

    client.post(reverse("today"), {"severity": "9"})
    client.post(reverse("today"), {"undo": "1"})

    assert DailyLog.objects.get(patient=patient).severity == 4
    assert not DailyLog.objects.filter(patient=other_patient).exists()
