import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.conftest import TODAY
from tracker.models import DailyLog, Injection, Patient, Reaction, User

pytestmark = pytest.mark.usefixtures("frozen_now")


# Onboarding


def test_a_new_patient_is_sent_to_onboarding(db, logged_in):
    user = factories.UserFactory()
    response = logged_in(user).get(reverse("today"))
    assert response.status_code == 302
    assert response.url == reverse("onboarding")


def test_onboarding_saves_conditions_and_time_zone(db, logged_in):
    user = factories.UserFactory()
    client = logged_in(user)
    response = client.post(
        reverse("onboarding"),
        {"conditions": ["blepharospasm", "hemifacial_spasm"], "time_zone": "America/New_York"},
    )
    assert response.status_code == 302
    patient = Patient.objects.get(user=user)
    assert patient.time_zone == "America/New_York"
    assert sorted(patient.condition_codes) == ["blepharospasm", "hemifacial_spasm"]


def test_onboarding_refuses_an_unknown_time_zone_and_no_condition(db, logged_in):
    user = factories.UserFactory()
    response = logged_in(user).post(reverse("onboarding"), {"time_zone": "Mars/Olympus"})
    assert response.status_code == 200
    assert "Choose at least one." in response.content.decode()
    assert "time_zone" in response.context["form"].errors
    assert not Patient.objects.filter(user=user).exists()


def test_settings_change_conditions_without_duplicates(web, patient):
    web.post(
        reverse("settings"), {"conditions": ["cervical_dystonia", "other"], "time_zone": "UTC"}
    )
    patient.refresh_from_db()
    assert sorted(patient.condition_codes) == ["cervical_dystonia", "other"]
    assert patient.time_zone == "UTC"


# Today


def test_today_offers_eleven_one_tap_severity_buttons(web):
    response = web.get(reverse("today"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('name="severity"') == 12  # 0 to 10, and the Save of "More"
    assert html.count('type="submit" name="severity"') == 12
    assert "Not logged yet." in html


def test_checking_in_takes_one_choice_and_save(web, patient):
    response = web.post(reverse("today"), {"severity": "4"})
    assert response.status_code == 302
    log = patient.logs.get()
    assert (log.date, log.severity, log.pain, log.spasm_frequency) == (TODAY, 4, None, None)
    page = web.get(reverse("today")).content.decode()
    assert "Saved: 4 —" in page  # with Undo, for a moment
    session = web.session
    session.pop("checkin_undo", None)
    session.save()
    assert "Logged: 4 out of 10" in web.get(reverse("today")).content.decode()


def test_checking_in_again_the_same_day_changes_the_one_log(web, patient):
    web.post(reverse("today"), {"severity": "4"})
    web.post(
        reverse("today"), {"severity": "6", "pain": "3", "spasm_frequency": "2", "note": "Busy"}
    )
    log = patient.logs.get()
    assert (log.severity, log.pain, log.spasm_frequency, log.note, log.version) == (
        6,
        3,
        2,
        "Busy",
        2,
    )


def test_an_earlier_day_can_be_filled_in(web, patient):
    day = TODAY - dt.timedelta(days=3)
    response = web.post(reverse("log_day", args=[day.isoformat()]), {"severity": "7"})
    assert response.status_code == 302
    assert patient.logs.get().date == day


def test_a_future_day_cannot_be_logged(web, patient):
    day = TODAY + dt.timedelta(days=1)
    response = web.post(reverse("log_day", args=[day.isoformat()]), {"severity": "7"})
    assert response.status_code == 302
    assert not patient.logs.exists()


def test_a_malformed_day_answers_404(web):
    assert web.get("/day/2026-02-30/").status_code == 404


@pytest.mark.parametrize("severity", ["", "11", "-1", "ten"])
def test_bad_severity_is_refused_with_a_message(web, patient, severity):
    response = web.post(reverse("today"), {"severity": severity})
    assert response.status_code == 200
    assert response.context["form"].errors["severity"]
    assert not patient.logs.exists()


def test_today_counts_days_since_the_last_injection(web, injection):
    html = web.get(reverse("today")).content.decode()
    assert "Day 30</strong> since your last injection" in html


def test_today_repeats_the_warning_while_a_red_flag_is_open(web, patient):
    factories.ReactionFactory(patient=patient, kind="breathing", severity="severe")
    html = web.get(reverse("today")).content.decode()
    assert "or go to the nearest emergency department now. Then tell your clinic." in html


# Injections


def site_data(*sites, prefix="sites"):
    data = {
        f"{prefix}-TOTAL_FORMS": str(max(len(sites), 1)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "30",
    }
    for n, (muscle, side, units) in enumerate(sites):
        data |= {
            f"{prefix}-{n}-muscle": muscle,
            f"{prefix}-{n}-side": side,
            f"{prefix}-{n}-units": units,
        }
    return data


def test_an_injection_with_sites_is_saved_and_shows_aftercare(web, patient):
    data = {"date": "2026-06-10", "product": "botox", "total_units": "200"}
    data |= site_data(("sternocleidomastoid", "left", "120"), ("trapezius", "right", "80"))
    response = web.post(reverse("injection_new"), data)
    injection = Injection.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("injection_detail", args=[injection.pk]) + "?saved=1"
    assert injection.patient == patient
    assert [(s.muscle, s.units) for s in injection.sites.all()] == [
        ("sternocleidomastoid", 120),
        ("trapezius", 80),
    ]
    page = web.get(response.url).content.decode()
    assert "Aftercare" in page
    assert "20 minutes on, 20 minutes off" in page


def test_the_total_is_the_sum_of_the_sites_when_left_empty(web):
    data = {"date": "2026-06-10", "product": "dysport", "total_units": ""}
    data |= site_data(("sternocleidomastoid", "left", "250"), ("splenius_capitis", "both", "250"))
    web.post(reverse("injection_new"), data)
    assert Injection.objects.get().total_units == 500


@pytest.mark.parametrize(
    ("total", "sites", "message"),
    [
        ("0", [], "Ensure this value is greater than or equal to 0.1."),
        ("1201", [], "this looks like a typo"),
        ("401", [], "confirm the dose and save again"),
        (
            "200",
            [("trapezius", "left", "150")],
            "The sites add up to 150 units but the total says 200",
        ),
        ("", [], "Enter the total units, or the units per muscle."),
    ],
)
def test_bad_units_are_refused_and_nothing_is_saved(web, total, sites, message):
    data = {"date": "2026-06-10", "product": "botox", "total_units": total} | site_data(*sites)
    response = web.post(reverse("injection_new"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Injection.objects.exists()


def test_an_unknown_muscle_or_product_is_refused(web):
    data = {"date": "2026-06-10", "product": "snake-oil", "total_units": "100"}
    data |= site_data(("tongue", "left", "100"))
    response = web.post(reverse("injection_new"), data)
    assert response.status_code == 200
    assert "product" in response.context["form"].errors
    assert "muscle" in response.context["sites"].forms[0].errors
    assert not Injection.objects.exists()


def test_an_injection_in_the_future_is_refused(web):
    data = {"date": "2026-06-16", "product": "botox", "total_units": "100"} | site_data()
    response = web.post(reverse("injection_new"), data)
    assert "Enter a date from 1 January 1990 to today." in response.content.decode()
    assert not Injection.objects.exists()


def test_editing_an_injection_replaces_its_sites(web, injection):
    first, second = injection.sites.all()
    data = {
        "date": injection.date.isoformat(),
        "product": "botox",
        "total_units": "150",
        "sites-TOTAL_FORMS": "2",
        "sites-INITIAL_FORMS": "2",
        "sites-MIN_NUM_FORMS": "0",
        "sites-MAX_NUM_FORMS": "30",
        "sites-0-id": first.pk,
        "sites-0-muscle": "sternocleidomastoid",
        "sites-0-side": "both",
        "sites-0-units": "150",
        "sites-1-id": second.pk,
        "sites-1-muscle": second.muscle,
        "sites-1-side": second.side,
        "sites-1-units": "80",
        "sites-1-DELETE": "on",
    }
    response = web.post(reverse("injection_edit", args=[injection.pk]), data)
    assert response.status_code == 302
    injection.refresh_from_db()
    assert injection.total_units == 150
    assert [(s.side, s.units) for s in injection.sites.all()] == [("both", 150)]


def test_deleting_an_injection_asks_first(web, injection):
    assert web.get(reverse("injection_delete", args=[injection.pk])).status_code == 200
    assert Injection.objects.exists()
    web.post(reverse("injection_delete", args=[injection.pk]))
    assert not Injection.objects.exists()


# Reactions


def test_the_checklist_offers_red_flags_first_then_the_condition_then_common(web):
    html = web.get(reverse("reaction_new")).content.decode()
    red_flag = html.index("Difficulty breathing")
    condition = html.index("Difficulty swallowing")
    common = html.index("Pain where injected")
    assert red_flag < condition < common
    assert "Drooping eyelid (treated eye)" not in html  # blepharospasm only


def test_ticking_several_reactions_saves_one_record_each(web, patient, injection):
    data = {
        "kinds": ["site_pain", "headache"],
        "severity": "mild",
        "onset_date": TODAY.isoformat(),
        "injection": str(injection.pk),
        "pain_reliever": "Paracetamol",
        "pain_reliever_dose": "1 g",
    }
    response = web.post(reverse("reaction_new"), data, follow=True)
    reactions = Reaction.objects.order_by("kind")
    assert [r.kind for r in reactions] == ["headache", "site_pain"]
    assert {r.injection for r in reactions} == {injection}
    assert {r.pain_reliever for r in reactions} == {"Paracetamol"}
    assert "Get help now" not in response.content.decode()


def test_a_red_flag_shows_the_urgent_card_before_anything_else(web):
    data = {"kinds": ["breathing"], "severity": "severe", "onset_date": TODAY.isoformat()}
    response = web.post(reverse("reaction_new"), data, follow=True)
    assert response.redirect_chain == [(reverse("today"), 302)]
    main = response.content.decode().split('<main id="main" tabindex="-1">')[1]
    before = main[: main.index('<div class="urgent urgent-card" role="alert">')]
    assert 'role="alert"' not in before and 'class="message' not in before  # only the outbox
    assert 'Call <a href="tel:999">999</a> or go to the nearest emergency department now' in main


def test_a_reaction_cannot_end_before_it_began(web):
    data = {
        "kinds": ["headache"],
        "severity": "mild",
        "onset_date": "2026-06-10",
        "resolved_date": "2026-06-09",
    }
    response = web.post(reverse("reaction_new"), data)
    assert response.context["form"].errors["resolved_date"] == ["It can't end before it started."]
    assert not Reaction.objects.exists()


def test_a_reaction_cannot_point_at_another_patients_injection(web, other_patient):
    theirs = factories.InjectionFactory(patient=other_patient)
    data = {
        "kinds": ["headache"],
        "severity": "mild",
        "onset_date": TODAY.isoformat(),
        "injection": str(theirs.pk),
    }
    response = web.post(reverse("reaction_new"), data)
    assert "injection" in response.context["form"].errors
    assert not Reaction.objects.exists()


def test_a_reaction_can_be_marked_over_in_one_tap(web, patient):
    reaction = factories.ReactionFactory(patient=patient, onset_date=TODAY - dt.timedelta(days=2))
    web.post(reverse("reaction_resolve", args=[reaction.pk]))
    reaction.refresh_from_db()
    assert reaction.resolved_date == TODAY


# History


def test_history_shows_days_newest_first_with_events_in_place(web, patient):
    injection = factories.InjectionFactory(patient=patient, date=TODAY - dt.timedelta(days=5))
    factories.DailyLogFactory(patient=patient, date=TODAY, severity=3)
    factories.DailyLogFactory(patient=patient, date=injection.date, severity=8, note="Shot day")
    html = web.get(reverse("history")).content.decode()
    assert html.index("Mon 15 Jun 2026") < html.index("Wed 10 Jun 2026")
    assert "Injection: Botox, 200 units" in html
    assert "Shot day" in html
    assert "Not logged · fill in" in html


def test_history_months_go_back_to_the_first_entry(web, patient):
    factories.DailyLogFactory(patient=patient, date=TODAY - dt.timedelta(days=60))
    response = web.get(reverse("history"), {"month": "2026-04"})
    assert [f"{m:%Y-%m}" for m in response.context["months"]] == ["2026-06", "2026-05", "2026-04"]
    assert response.context["days"][-1]["date"] == TODAY - dt.timedelta(days=60)
    assert response.context["older_url"] is None


def test_history_query_count_does_not_grow_with_rows(web, patient, django_assert_num_queries):
    def fill(days):
        for n in days:
            day = TODAY - dt.timedelta(days=n)
            factories.DailyLogFactory(patient=patient, date=day)
            shot = factories.InjectionFactory(patient=patient, date=day)
            factories.InjectionSiteFactory(injection=shot)
            factories.ReactionFactory(patient=patient, onset_date=day)

    fill([1])
    # session, user with their patient record, 3 x first date, logs, injections, sites,
    # reactions
    with django_assert_num_queries(9):
        web.get(reverse("history"))
    fill(range(2, 27))
    with django_assert_num_queries(9):
        web.get(reverse("history"))


def test_injection_list_query_count_does_not_grow_with_rows(
    web, patient, django_assert_num_queries
):
    factories.InjectionSiteFactory(injection__patient=patient)
    # session, user with their patient record, injections with entered_by, sites
    with django_assert_num_queries(4):
        web.get(reverse("injection_list"))
    for _ in range(10):
        factories.InjectionSiteFactory(injection__patient=patient)
    with django_assert_num_queries(4):
        web.get(reverse("injection_list"))


# Access: the owner, a clinician with access, a stranger, anonymous


def patient_pages(patient):
    log = factories.DailyLogFactory(patient=patient, date=TODAY, note="Secret-note-xyz")
    shot = factories.InjectionFactory(patient=patient, notes="Secret-note-xyz")
    reaction = factories.ReactionFactory(patient=patient, note="Secret-note-xyz", injection=shot)
    return [
        reverse("today"),
        reverse("log_day", args=[log.date.isoformat()]),
        reverse("history"),
        reverse("injection_list"),
        reverse("injection_detail", args=[shot.pk]),
        reverse("injection_edit", args=[shot.pk]),
        reverse("injection_delete", args=[shot.pk]),
        reverse("reaction_list"),
        reverse("reaction_edit", args=[reaction.pk]),
        reverse("reaction_delete", args=[reaction.pk]),
    ]


def test_the_owner_sees_their_own_pages(web, patient):
    for url in patient_pages(patient):
        response = web.get(url)
        assert response.status_code == 200, url
    assert "Secret-note-xyz" in web.get(reverse("history")).content.decode()


def test_another_patient_gets_404_for_every_record_page(patient, other_patient, logged_in):
    client = logged_in(other_patient.user)
    for url in patient_pages(patient):
        response = client.get(url)
        assert "Secret-note-xyz" not in response.content.decode(), url
        if url.count("/") >= 4:  # a record's own page: /injections/<id>/...
            assert response.status_code == 404, url


def test_another_patient_cannot_change_or_delete_a_record(patient, other_patient, logged_in):
    shot = factories.InjectionFactory(patient=patient)
    reaction = factories.ReactionFactory(patient=patient)
    client = logged_in(other_patient.user)
    assert client.post(reverse("injection_delete", args=[shot.pk])).status_code == 404
    assert client.post(reverse("reaction_resolve", args=[reaction.pk])).status_code == 404
    assert client.post(reverse("reaction_delete", args=[reaction.pk])).status_code == 404
    assert Injection.objects.filter(pk=shot.pk).exists()
    assert Reaction.objects.filter(pk=reaction.pk, resolved_date=None).exists()


def test_a_clinician_cannot_use_the_patients_diary_pages(patient, clinician, logged_in):
    client = logged_in(clinician)
    for url in patient_pages(patient):
        response = client.get(url)
        assert response.status_code == 404, url
    assert client.post(reverse("today"), {"severity": "1"}).status_code == 404
    assert DailyLog.objects.get().severity == 5


def test_a_clinician_sees_the_patients_who_share_with_them(
    patient, clinician, other_patient, logged_in
):
    response = logged_in(clinician).get(reverse("clinic"))
    assert [item["row"].patient_id for item in response.context["items"]] == [patient.pk]


def test_anonymous_visitors_are_sent_to_log_in(patient):
    client = Client()
    for url in patient_pages(patient):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("account_login"))


# Accounts


def test_signing_up_makes_a_patient_who_verifies_email_then_onboards(db, client, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {
            "name": "New Patient",
            "email": "new@example.com",
            "password1": "a long enough passphrase",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new@example.com")
    assert user.role == User.Role.PATIENT
    assert not user.is_clinician
    link = re.search(r"https?://testserver(\S+)", mailoutbox[0].body).group(1)
    client.post(link)
    response = client.get(reverse("today"))
    assert response.status_code == 302
    assert response.url == reverse("onboarding")


def test_a_clinician_has_no_onboarding(clinician, logged_in):
    assert logged_in(clinician).get(reverse("onboarding")).status_code == 404
