"""The patient's small frictions of issue 13, each fixed: stopping a share asks first and can
be undone, the access history grouped and current, Sharing in the navigation, the service
worker by role, errors on their own fields, reminder settings that say "Saved" and make
sense, History by month, severity badges, and an all-data CSV a person can read."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY, injection_form
from tracker.models import AccessEvent, Share

pytestmark = pytest.mark.usefixtures("frozen_now")


def words(response) -> str:
    html = response.content.decode()
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",").replace(" .", ".")


# Stopping a share: asked first, undone after


def test_stop_sharing_is_a_link_to_a_page_that_asks_first(patient, clinician, logged_in):
    client = logged_in(patient.user)
    share = Share.objects.get()

    sharing = client.get(reverse("sharing")).content.decode()
    assert f'href="{reverse("share_revoke", args=[share.pk])}"' in sharing
    asked = client.get(reverse("share_revoke", args=[share.pk]))

    assert "Keep sharing" in words(asked)
    assert Share.objects.active().filter(pk=share.pk).exists()


def test_after_stopping_the_patient_can_undo_for_a_while(patient, clinician, logged_in, frozen_now):
    client = logged_in(patient.user)
    share = Share.objects.get()
    client.post(reverse("share_revoke", args=[share.pk]))
    assert not Share.objects.active().exists()
    page = words(client.get(reverse("sharing")))
    assert "You stopped sharing with" in page
    assert "Undo: share with" in page

    client.post(reverse("share_revoke", args=[share.pk]), {"undo": "1"})

    assert Share.objects.active().get().clinician == clinician
    assert "can see your diary again" in words(client.get(reverse("sharing")))


def test_undo_is_gone_after_ten_minutes(patient, clinician, logged_in, frozen_now):
    client = logged_in(patient.user)
    share = Share.objects.get()
    client.post(reverse("share_revoke", args=[share.pk]))
    frozen_now.shift(dt.timedelta(minutes=11))

    assert "Undo: share with" not in words(client.get(reverse("sharing")))
    client.post(reverse("share_revoke", args=[share.pk]), {"undo": "1"})
    assert not Share.objects.active().exists()


def test_nobody_else_can_ask_stop_or_undo_a_patients_share(
    patient, clinician, other_patient, stranger_clinician, logged_in
):
    share = Share.objects.get()
    for user in [other_patient.user, clinician, stranger_clinician]:
        client = logged_in(user)
        assert client.get(reverse("share_revoke", args=[share.pk])).status_code == 404
        assert client.post(reverse("share_revoke", args=[share.pk])).status_code == 404
    assert Share.objects.active().exists()
    share.revoke()
    logged_in(other_patient.user).post(reverse("share_revoke", args=[share.pk]), {"undo": "1"})
    assert not Share.objects.active().exists()


# The access history: grouped by person and day, and current


def test_the_access_history_says_who_looked_how_often_on_which_day(patient, clinician, logged_in):
    clinician.first_name, clinician.last_name = "Ana", "Jones"
    clinician.save()
    doctor = logged_in(clinician)
    for _ in range(8):
        doctor.get(reverse("clinic_report", args=[patient.pk]))

    page = words(logged_in(patient.user).get(reverse("sharing")))

    assert "Ana Jones viewed your report 8 times on Mon 15 Jun 2026" in page
    assert page.count("viewed your report") == 1
    assert "Report page" not in page


def test_the_access_history_is_current_after_each_look(patient, clinician, logged_in):
    owner = logged_in(patient.user)
    assert "No clinician has opened your diary yet" in words(owner.get(reverse("sharing")))

    logged_in(clinician).get(reverse("clinic_summary", args=[patient.pk]))

    assert "viewed your report once" in words(owner.get(reverse("sharing")))


def test_the_access_history_is_split_by_the_patients_own_day(patient, clinician, logged_in):
    AccessEvent.objects.bulk_create(
        AccessEvent(patient=patient, clinician=clinician, what="page", path="/x") for _ in range(3)
    )
    AccessEvent.objects.filter(pk=AccessEvent.objects.first().pk).update(
        at=NOW - dt.timedelta(days=1)
    )

    page = words(logged_in(patient.user).get(reverse("sharing")))

    assert "viewed your report 2 times on Mon 15 Jun 2026" in page
    assert "viewed your report once on Sun 14 Jun 2026" in page
    assert page.index("Mon 15 Jun") < page.index("Sun 14 Jun")


def test_a_stranger_sees_none_of_another_patients_access_history(
    patient, clinician, other_patient, logged_in
):
    logged_in(clinician).get(reverse("clinic_report", args=[patient.pk]))

    page = words(logged_in(other_patient.user).get(reverse("sharing")))

    assert "viewed your report" not in page


# Sharing in the navigation


def test_sharing_is_in_every_patient_pages_navigation(web):
    for name in ["today", "history", "settings", "sharing"]:
        html = web.get(reverse(name)).content.decode()
        nav = html.split('aria-label="Account"')[1].split("</nav>")[0]
        assert f'href="{reverse("sharing")}"' in nav
    sharing = web.get(reverse("sharing")).content.decode()
    assert re.search(r'href="/sharing/" aria-current="page"', sharing)


def test_a_clinicians_navigation_has_no_patient_sharing_link(logged_in, clinician):
    html = logged_in(clinician).get(reverse("clinic")).content.decode()
    assert f'href="{reverse("sharing")}"' not in html


# The service worker by role


def test_the_service_worker_prefetches_patient_pages_only_for_patients(client):
    body = client.get(reverse("service_worker")).content.decode()
    config = re.search(r"const CONFIG = (\{.*?\});", body, re.S).group(1)

    assert '"clinician": ["/offline/"]' in config
    assert '"/today/"' in config.split('"clinician"')[0]
    assert '"neverPrefixes": ["/clinic/"]' in config
    assert '"neverPages": ["/"]' in config


def test_each_page_tells_the_worker_whose_it_is(web, logged_in, clinician):
    assert 'data-role="patient"' in web.get(reverse("today")).content.decode()
    assert 'data-role="clinician"' in logged_in(clinician).get(reverse("clinic")).content.decode()


# Each error on its own field


def field_html(html: str, field_id: str) -> str:
    """The label (or legend) of a field, where its error is said."""
    start = html.index(f'for="{field_id}"')
    return html[start : html.index("</label>", start)]


def test_a_muscles_units_error_is_on_that_muscles_units(web):
    html = web.post(
        reverse("injection_new"), injection_form(**{"sites-0-units": "5000", "total_units": ""})
    ).content.decode()

    assert "looks like a typo" in field_html(html, "id_sites-0-units")
    assert "Please check the fields marked below." in html


def test_a_typo_in_both_the_total_and_a_muscle_is_marked_on_both(web):
    html = web.post(
        reverse("injection_new"),
        injection_form(**{"sites-0-units": "5000", "total_units": "5000"}),
    ).content.decode()

    assert "looks like a typo" in field_html(html, "id_sites-0-units")
    assert "looks like a typo" in field_html(html, "id_total_units")


def test_a_muscles_missing_units_are_asked_on_that_field_with_a_summary(web):
    html = web.post(
        reverse("injection_new"), injection_form(**{"sites-0-units": ""})
    ).content.decode()

    assert "This field is required." in field_html(html, "id_sites-0-units")
    assert "Please check the fields marked below." in html
    assert "error" not in field_html(html, "id_total_units")


# Reminder settings: a "Saved" state where the patient looks, and channels that make sense


def test_saving_a_reminder_says_saved_in_the_reminders_part(web, patient):
    response = web.post(
        reverse("reminder_settings"), {"reminder_time": "07:30", "reminder_email": "True"}
    )

    html = web.get(response.url).content.decode()
    part = html.split('id="reminders"')[1].split("</section>")[0]
    assert re.search(r'role="status">✓ Saved: a reminder every day at 07:30, by email.<', part)
    assert web.get(reverse("settings")).content.decode().count("Saved: a reminder") == 0  # once


def test_without_a_reminder_time_the_channels_are_off_and_unchosen(web, patient):
    html = web.get(reverse("settings")).content.decode()

    channels = html.split("data-reminder-channels")[1].split("</fieldset>")[0]
    assert channels.startswith(" disabled>")
    assert "Choose a time first" in channels
    assert "checked" not in channels


def test_with_a_reminder_time_the_channels_are_on_the_form(web, patient):
    patient.reminder_time = dt.time(8, 0)
    patient.save()

    html = web.get(reverse("settings")).content.decode()

    channels = html.split("data-reminder-channels")[1].split("</fieldset>")[0]
    assert not channels.startswith(" disabled")
    assert re.search(r'value="True"[^>]*checked', channels)


def test_turning_the_reminder_off_keeps_the_channel_as_it_was(web, patient):
    patient.reminder_time, patient.reminder_email = dt.time(8, 0), False
    patient.save()

    web.post(reverse("reminder_settings"), {"reminder_time": ""})  # the channels are disabled

    patient.refresh_from_db()
    assert (patient.reminder_time, patient.reminder_email) == (None, False)


def test_a_time_without_a_channel_is_asked_on_the_channel(web, patient):
    html = web.post(reverse("reminder_settings"), {"reminder_time": "07:30"}).content.decode()

    legend = html.split("data-reminder-channels")[1].split("</legend>")[1]
    assert "Choose On or Off." in legend.split("</legend>")[0]
    patient.refresh_from_db()
    assert patient.reminder_time is None


def test_a_clinician_and_another_patient_change_no_patients_reminder(
    patient, clinician, other_patient, logged_in
):
    for user in (clinician, other_patient.user):
        logged_in(user).post(
            reverse("reminder_settings"), {"reminder_time": "07:30", "reminder_email": "True"}
        )
    patient.refresh_from_db()
    assert patient.reminder_time is None


# History by month


def test_history_shows_this_month_newest_first_with_a_month_picker(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=400), severity=2)
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=6)

    html = web.get(reverse("history")).content.decode()

    assert "<h1>History: June 2026</h1>" in html
    options = re.findall(r'<option value="(\d{4}-\d{2})"', html)
    assert options[0] == "2026-06" and options[-1] == "2025-05" and len(options) == 14
    assert '<option value="2026-06" selected>' in html
    assert re.search(r'<button type="submit" class="button">Go</button>', html)
    days = re.findall(r"<h2>(\w{3} \d+ \w{3} 2026)</h2>", html)
    assert days[0] == "Mon 15 Jun 2026" and days[-1] == "Mon 1 Jun 2026"


def test_a_month_is_one_choice_away_without_javascript(web, patient):
    factories.DailyLogFactory(patient=patient, date=dt.date(2025, 5, 20), severity=2)

    response = web.get(reverse("history"), {"month": "2025-05"})

    html = response.content.decode()
    assert "<h1>History: May 2025</h1>" in html
    assert re.findall(r"<h2>(\w{3} \d+ \w{3} \d{4})</h2>", html) == [
        f"{dt.date(2025, 5, d):%a} {d} May 2025" for d in range(31, 19, -1)
    ]
    assert response.context["older_url"] is None
    assert "?month=2025-06" in response.context["newer_url"]


@pytest.mark.parametrize("month", ["", "junk", "2026-13", "1800-01", "99999999999999999999-1"])
def test_a_month_the_diary_does_not_have_shows_the_newest(web, patient, month):
    response = web.get(reverse("history"), {"month": month})

    assert response.status_code == 200
    assert response.context["month"] == dt.date(2026, 6, 1)


def test_only_the_patient_sees_their_history(patient, clinician, other_patient, logged_in):
    factories.DailyLogFactory(patient=patient, date=TODAY, note="Private-note-q")
    assert "Private-note-q" in logged_in(patient.user).get(reverse("history")).content.decode()
    assert logged_in(clinician).get(reverse("history")).status_code == 404
    other = logged_in(other_patient.user).get(reverse("history")).content.decode()
    assert "Private-note-q" not in other


# Severity badges


def relative_luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted([relative_luminance(a), relative_luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def badge_colours() -> dict[int, tuple[str, str]]:
    from django.conf import settings

    text = (settings.BASE_DIR / "static" / "css" / "app.css").read_text()
    found = re.findall(
        r"\.score\.sev-(\d+) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{3,6}); \}", text
    )
    expand = lambda c: c if len(c) == 7 else "#" + "".join(ch * 2 for ch in c[1:])  # noqa: E731
    return {int(n): (bg, expand(fg)) for n, bg, fg in found}


def test_each_severity_has_its_own_badge_colour_with_readable_text():
    colours = badge_colours()

    assert sorted(colours) == list(range(11))
    assert len({bg for bg, _ in colours.values()}) == 11
    for n, (background, text) in colours.items():
        assert contrast(background, text) >= 4.5, n


def test_the_badges_darken_as_the_score_rises_so_order_shows_without_hue():
    lightness = [relative_luminance(bg) for bg, _ in badge_colours().values()]
    assert lightness == sorted(lightness, reverse=True)


def test_the_history_badge_writes_the_number_and_carries_its_colour(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=7)

    html = web.get(reverse("history")).content.decode()

    assert re.search(r'class="score sev-7"[^>]*aria-label="Spasms 7 out of 10, change">7<', html)


# The all-data CSV: readable, labelled columns


@pytest.fixture
def downloaded(patient, clinician, logged_in):
    """The patient's all-data CSV, with an injection, a reaction and a day's check-in."""
    shot = factories.InjectionFactory(
        patient=patient, date=TODAY - dt.timedelta(days=20), product="xeomin", total_units=120
    )
    factories.InjectionSiteFactory(injection=shot, muscle="trapezius", side="right", units=120)
    factories.ReactionFactory(
        patient=patient, injection=shot, kind="dysphagia", severity="moderate"
    )
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=7, pain=0)
    logged_in(clinician).get(reverse("clinic_report", args=[patient.pk]))
    client = logged_in(patient.user, password_just_typed=True)
    text = client.get(reverse("account_data_csv")).content.decode()
    from tests.test_privacy import csv_sections

    return text, csv_sections(text)


def test_the_csv_speaks_in_words_with_units_and_dates(downloaded):
    _, sections = downloaded

    [log] = sections["Daily check-ins"]
    assert log["Date"] == "2026-06-15"
    assert log["Spasms (0 to 10)"] == "7 out of 10"
    assert log["Pain (0 to 10)"] == "0 out of 10 (none)"
    [shot] = sections["Injections"]
    assert shot["Product"].startswith("Xeomin")
    assert shot["Total units"] == "120 units"
    [site] = sections["Muscles injected"]
    assert (site["Muscle"], site["Side"], site["Units"]) == ("Trapezius", "Right", "120 units")
    [reaction] = sections["Reactions"]
    assert reaction["Severity"] == "Moderate"
    assert reaction["Injection"].startswith("2026-05-26 Xeomin")
    [look] = sections["Who opened your diary"]
    assert look["What they opened"] == "Report page"


def test_the_csv_has_no_ids_and_no_internal_names(downloaded, patient):
    text, sections = downloaded

    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert not re.search(uuid, text)
    for title, rows in sections.items():
        for column in rows[0] if rows else []:
            assert "_" not in column and column[:1].isupper(), (title, column)
            assert not column.lower().endswith(" id"), (title, column)
    assert "tracker." not in text
    changes = " ".join(row["Changes"] for row in sections["Changes to your records"])
    assert "None" not in changes


def test_only_the_patient_downloads_their_all_data_csv(patient, clinician, logged_in):
    factories.DailyLogFactory(patient=patient, date=TODAY, note="Only-mine-note")

    theirs = logged_in(clinician, password_just_typed=True).get(reverse("account_data_csv"))

    assert "Only-mine-note" not in theirs.content.decode()
