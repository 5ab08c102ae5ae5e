"""Red flags in two tiers, and who must hear (docs/clinical-rules.md, "Red flags" and "Triage"):
the tier of every reaction, the clinic's list and report until a clinician marks a red flag
handled, what the patient sees of it, and the numbers to call on the urgent card."""

import datetime as dt

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from tests import factories
from tests.conftest import NOW, TODAY
from tracker import catalog, triage
from tracker.forms import reaction_groups
from tracker.models import AccessEvent, Patient, Reaction
from tracker.triage import Attention

pytestmark = pytest.mark.usefixtures("frozen_now")

SEVERITIES = ["mild", "moderate", "severe"]

# docs/clinical-rules.md's red-flag table ("Red flags"), written out: whatever the severity, ...
GET_HELP_NOW = {"breathing", "cannot_swallow", "allergic"}
CONTACT_CLINIC_TODAY = {
    "swallowing_speaking_worse",
    "generalised_weakness",
    "vision",
    "eyelid_droop_distant",
    "bladder",
    "infection",
}
# ... and the condition's swallowing, choking, voice and eye-area reactions, only when severe.
TODAY_WHEN_SEVERE = {
    "swallowing_mild",
    "voice_change",
    "breathy_voice",
    "choking_liquids",
    "ptosis",
    "double_vision_local",
}


def expected_tier(kind: str, severity: str) -> str | None:
    if kind in GET_HELP_NOW:
        return "now"
    if kind in CONTACT_CLINIC_TODAY or (kind in TODAY_WHEN_SEVERE and severity == "severe"):
        return "today"
    return None


EVERY_KIND_AND_SEVERITY = [
    (kind, severity) for kind, _ in catalog.REACTION_CHOICES for severity in SEVERITIES
]


@pytest.mark.parametrize(
    ("condition", "kind", "severity", "tier"),
    [
        ("cervical_dystonia", "swallowing_mild", "mild", None),
        ("cervical_dystonia", "swallowing_mild", "moderate", None),
        ("cervical_dystonia", "swallowing_mild", "severe", "today"),
        ("cervical_dystonia", "voice_change", "severe", "today"),
        ("cervical_dystonia", "neck_weakness", "severe", None),
        ("cervical_dystonia", "dry_mouth", "severe", None),
        ("spasmodic_dysphonia", "breathy_voice", "moderate", None),
        ("spasmodic_dysphonia", "breathy_voice", "severe", "today"),
        ("spasmodic_dysphonia", "choking_liquids", "moderate", None),
        ("spasmodic_dysphonia", "choking_liquids", "severe", "today"),
        ("blepharospasm", "ptosis", "moderate", None),
        ("blepharospasm", "ptosis", "severe", "today"),
        ("blepharospasm", "double_vision_local", "mild", None),
        ("blepharospasm", "double_vision_local", "severe", "today"),
        ("blepharospasm", "dry_eye", "severe", None),
        ("hemifacial_spasm", "facial_weakness", "severe", None),
        ("limb_spasticity", "limb_weakness", "severe", None),
        ("hyperhidrosis", "hand_weakness", "severe", None),
        ("other", "cannot_swallow", "mild", "now"),
        ("other", "breathing", "mild", "now"),
        ("other", "allergic", "moderate", "now"),
        ("other", "vision", "mild", "today"),
        ("other", "bladder", "mild", "today"),
        ("other", "infection", "moderate", "today"),
        ("other", "site_pain", "severe", None),
        ("other", "headache", "severe", None),
    ],
)
def test_the_tier_of_a_conditions_reaction_follows_its_kind_and_severity(
    condition, kind, severity, tier
):
    assert kind in dict(
        catalog.reactions_for([condition]) + catalog.RED_FLAG_REACTIONS + catalog.COMMON_REACTIONS
    )
    assert catalog.red_flag_tier(kind, severity) == tier


@pytest.mark.parametrize(("kind", "severity"), EVERY_KIND_AND_SEVERITY)
def test_every_kind_and_severity_has_the_tier_of_the_domains_table(kind, severity):
    assert catalog.red_flag_tier(kind, severity) == expected_tier(kind, severity)


def test_every_reaction_the_app_offers_is_in_the_table_or_never_a_red_flag():
    red_flag_kinds = GET_HELP_NOW | CONTACT_CLINIC_TODAY | TODAY_WHEN_SEVERE
    never = {code for code, _ in catalog.REACTION_CHOICES} - red_flag_kinds
    assert red_flag_kinds <= set(catalog.REACTION_LABELS)
    assert all(catalog.red_flag_tier(kind, "severe") is None for kind in never)


def test_the_api_gives_every_reactions_tier_and_the_database_agrees(patient, patient_client):
    for kind, severity in EVERY_KIND_AND_SEVERITY:
        body = {"kind": kind, "severity": severity, "onset_date": str(TODAY)}
        response = patient_client.post(reverse("api:reaction-list"), body, format="json")
        assert response.status_code == 201, response.json()
        tier = expected_tier(kind, severity)
        assert (response.json()["red_flag_tier"], response.json()["is_red_flag"]) == (
            tier,
            tier is not None,
        ), (kind, severity)
    flagged = set(Reaction.objects.red_flags().values_list("kind", "severity"))
    assert flagged == {pair for pair in EVERY_KIND_AND_SEVERITY if expected_tier(*pair)}
    listed = patient_client.get(reverse("api:reaction-list")).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {row["red_flag_tier"] for row in rows} == {"now", "today", None}


def test_the_checklist_shows_both_tiers_before_the_condition_and_the_common_ones():
    groups = reaction_groups(["cervical_dystonia"])
    assert [label for label, _ in groups] == [
        "Get help now",
        "Contact your clinic today",
        "Common with Cervical dystonia",
        "Common after any injection",
    ]
    assert {code for code, _ in groups[0][1]} == GET_HELP_NOW
    assert {code for code, _ in groups[1][1]} == CONTACT_CLINIC_TODAY


def test_the_checklist_page_says_what_to_do_for_each_tier(web):
    html = web.get(reverse("reaction_new")).content.decode()
    order = [
        "call the emergency number or go to the nearest emergency department now",
        ">Difficulty breathing</label>",
        "If you have any of these, call your clinic today.",
        ">Weakness all over the body</label>",
        "If one of these is severe, call your clinic today.",
        ">Difficulty swallowing</label>",
    ]
    places = [html.index(text) for text in order]
    assert places == sorted(places)
    assert html.count("urgent-group") == 2


# The clinic's list and report: on top until handled


def days_ago(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


@pytest.fixture
def flagged(clinician, patient):
    """`patient` logged difficulty breathing two days ago and said it was over yesterday."""
    factories.DailyLogFactory(patient=patient, date=TODAY)
    quiet = factories.PatientFactory(user__username="amy", user__first_name="Amy")
    factories.ShareFactory(patient=quiet, clinician=clinician)
    return factories.ReactionFactory(
        patient=patient,
        kind="breathing",
        severity="severe",
        onset_date=days_ago(2),
        resolved_date=days_ago(1),
    )


def clinic_rows(client) -> list:
    response = client.get(reverse("clinic"))
    assert response.status_code == 200
    return [item["row"] for item in response.context["items"]]


def handle(client, patient: Patient, reaction: Reaction, note: str = ""):
    url = reverse("clinic_reaction_handled", args=[patient.pk, reaction.pk])
    return client.post(url, {"note": note})


def test_a_resolved_red_flag_stays_on_top_until_a_clinician_handles_it(
    clinician, patient, flagged, logged_in
):
    client = logged_in(clinician)
    top = clinic_rows(client)[0]
    assert (top.name, top.attention) == (patient.display_name, Attention.RED_FLAG)  # no username
    assert "1 red flag to handle (Get help now)" in top.reasons
    html = client.get(reverse("clinic")).content.decode()
    flagged.refresh_from_db()
    logged = flagged.created_at.astimezone(patient.zone)
    assert f"Logged {logged.day} {logged:%b %Y, %H:%M}; over on 14 Jun 2026" in html
    assert "Review and mark handled" in html

    response = handle(client, patient, flagged, "Called her: fine now.")
    assert response.status_code == 302
    assert response.url == reverse("clinic_report", args=[patient.pk]) + "#red-flags"
    rows = clinic_rows(client)
    assert [row.name for row in rows] == ["Amy", patient.display_name]  # by name: no attention left
    assert rows[1].attention == Attention.NONE and rows[1].new  # joined today: new, not missing
    html = client.get(reverse("clinic")).content.decode()
    assert "Handled by doc on 15 Jun 2026, 13:00" in html  # London, summer time


def test_handling_records_who_when_and_the_note_in_the_change_history(
    clinician, patient, flagged, logged_in
):
    clinician.first_name, clinician.last_name = "Ada", "Lee"
    clinician.save()
    version = flagged.version
    handle(logged_in(clinician), patient, flagged, "Seen in clinic")
    flagged.refresh_from_db()
    assert (flagged.handled_by, flagged.handled_at, flagged.handled_note) == (
        clinician,
        NOW,
        "Seen in clinic",
    )
    assert flagged.resolved_date == days_ago(1)  # the patient's fact, untouched
    assert flagged.version == version  # the patient's offline edits still apply
    entry = LogEntry.objects.get_for_object(flagged).filter(action=LogEntry.Action.UPDATE).get()
    assert entry.actor == clinician
    assert entry.changes["handled_note"] == ["", "Seen in clinic"]
    event = AccessEvent.objects.filter(patient=patient, clinician=clinician).latest("at")
    assert event.path.endswith(f"/reactions/{flagged.pk}/handled/")


def test_a_red_flag_is_handled_once_by_the_first_clinician(clinician, patient, flagged, logged_in):
    colleague = factories.ClinicianFactory(username="colleague")
    factories.ShareFactory(patient=patient, clinician=colleague)
    handle(logged_in(colleague), patient, flagged, "First")
    response = handle(logged_in(clinician), patient, flagged, "Second")
    assert response.status_code == 302
    flagged.refresh_from_db()
    assert (flagged.handled_by, flagged.handled_note) == (colleague, "First")


def test_resolving_after_handling_keeps_the_handling(web, clinician, patient, logged_in):
    reaction = factories.ReactionFactory(patient=patient, kind="vision", severity="mild")
    handle(logged_in(clinician), patient, reaction)
    web.post(reverse("reaction_resolve", args=[reaction.pk]))
    reaction.refresh_from_db()
    assert reaction.resolved_date == TODAY
    assert reaction.handled_by == clinician


def test_the_handled_view_answers_only_a_clinician_with_access_about_this_patients_red_flag(
    clinician, patient, other_patient, stranger_clinician, flagged, logged_in
):
    theirs = factories.ReactionFactory(patient=other_patient, kind="breathing")
    factories.ShareFactory(patient=other_patient, clinician=clinician)
    not_a_red_flag = factories.ReactionFactory(patient=patient, kind="headache")
    assert handle(logged_in(patient.user), patient, flagged).status_code == 404
    assert handle(logged_in(stranger_clinician), patient, flagged).status_code == 404
    assert handle(logged_in(clinician), patient, theirs).status_code == 404  # another's id
    assert handle(logged_in(clinician), patient, not_a_red_flag).status_code == 404
    url = reverse("clinic_reaction_handled", args=[patient.pk, flagged.pk])
    assert logged_in(clinician).get(url).status_code == 405
    assert not Reaction.objects.filter(handled_at__isnull=False).exists()
    assert handle(logged_in(clinician), patient, flagged).status_code == 302
    assert Reaction.objects.filter(handled_at__isnull=False).get() == flagged


def test_a_note_too_long_is_refused_with_a_message_on_the_report(
    clinician, patient, flagged, logged_in
):
    response = handle(logged_in(clinician), patient, flagged, "x" * 501)
    assert response.status_code == 400
    assert "Ensure this value has at most 500 characters" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.handled_at is None


def test_the_report_puts_red_flags_first_with_when_and_who_handled(
    clinician, patient, injection, flagged, logged_in
):
    client = logged_in(clinician)
    url = reverse("clinic_report", args=[patient.pk])
    html = client.get(url).content.decode()
    section = html[
        html.index('id="red-flags"') : html.index("</section>", html.index('id="red-flags"'))
    ]
    assert "Get help now</span> <strong>Difficulty breathing</strong> (severe)" in section
    assert "over on 14 Jun 2026" in section
    assert 'action="' + reverse("clinic_reaction_handled", args=[patient.pk, flagged.pk]) in section
    handle(client, patient, flagged, "Called her")
    html = client.get(url).content.decode()
    assert "Handled by doc on 15 Jun 2026, 13:00. Note: Called her" in html
    assert "Mark as handled" not in html
    summary = client.get(reverse("clinic_summary", args=[patient.pk])).content.decode()
    assert "Get help now</span>" in summary and "Handled by doc on 15 Jun 2026" in summary


def test_a_red_flag_handled_weeks_ago_leaves_the_list_and_the_reports_top(
    clinician, patient, flagged, logged_in, frozen_now
):
    handle(logged_in(clinician), patient, flagged)
    frozen_now.shift(dt.timedelta(days=triage.RECENTLY_HANDLED_DAYS + 1))
    client = logged_in(clinician)
    assert all(not row.red_flags for row in clinic_rows(client))
    html = client.get(reverse("clinic_report", args=[patient.pk])).content.decode()
    assert 'id="red-flags"' not in html
    assert "Handled by doc" in html  # still beside the reaction, in its cycle


def test_the_clinic_list_takes_no_more_queries_with_handled_red_flags(
    clinician, patient, flagged, logged_in, django_assert_num_queries
):
    client = logged_in(clinician)
    handle(client, patient, flagged)
    clinic_rows(client)  # shows the message "Marked as handled"
    for n in range(5):
        other = factories.PatientFactory(user__username=f"p{n}")
        factories.ShareFactory(patient=other, clinician=clinician)
        factories.ReactionFactory(patient=other, kind="vision", onset_date=TODAY)
    # session, user, their authenticator app, the patients with their last log date, their
    # conditions, the last two injection dates' sessions, the logs, the red flags (with who
    # handled them), the patients of clinics they coordinate: as tests/test_dashboard.py pins
    with django_assert_num_queries(9):
        rows = clinic_rows(client)
    assert [row.attention for row in rows[:5]] == [Attention.RED_FLAG] * 5


# What the patient sees


def test_the_patient_sees_that_their_clinic_has_seen_it(web, clinician, patient, logged_in):
    reaction = factories.ReactionFactory(patient=patient, kind="breathing", severity="severe")
    html = web.get(reverse("reaction_list")).content.decode()
    assert "Your clinic has not marked this as seen yet." in html
    handle(logged_in(clinician), patient, reaction)
    html = web.get(reverse("reaction_list")).content.decode()
    assert "Your clinic has seen this</strong> (15 Jun 2026, 13:00)" in html
    today = web.get(reverse("today")).content.decode()
    assert "Your clinic has seen this</strong> (15 Jun, 13:00)" in today  # still going on


def test_the_badges_name_the_tier_not_a_bare_urgent(web, patient):
    factories.ReactionFactory(patient=patient, kind="swallowing_mild", severity="severe")
    factories.ReactionFactory(patient=patient, kind="swallowing_mild", severity="mild")
    html = web.get(reverse("reaction_list")).content.decode()
    assert html.count('<span class="badge badge-urgent">Contact your clinic today</span>') == 1
    assert "Urgent" not in html
    history = web.get(reverse("history")).content.decode()
    assert history.count("⚠ Contact your clinic today: Difficulty swallowing (severe)") == 1


# The urgent card and its numbers


def card(html: str) -> str:
    start = html.index('<div class="urgent urgent-card" role="alert">')
    return html[start : html.index("See your reactions", start)]


def test_the_get_help_now_card_calls_the_countrys_emergency_number(web, patient):
    factories.ReactionFactory(patient=patient, kind="allergic", severity="moderate")
    text = card(web.get(reverse("today")).content.decode())
    assert "<h2>Get help now</h2>" in text
    assert (
        'Call <a href="tel:999">999</a> or go to the nearest emergency department now. '
        "Then tell your clinic." in text
    )
    assert '<a class="button call-button" href="tel:999">Call 999</a>' in text
    assert "Contact your clinic today" not in text


def test_the_contact_clinic_card_calls_the_clinic_and_the_emergency_number(web, patient):
    Patient.objects.filter(pk=patient.pk).update(
        time_zone="America/Chicago", clinic_phone="+1 (312) 555-0100"
    )
    factories.ReactionFactory(patient=patient, kind="vision", severity="mild", onset_date=TODAY)
    text = card(web.get(reverse("today")).content.decode())
    assert "<h2>Contact your clinic today</h2>" in text
    assert (
        'Call your clinic today: <a href="tel:+13125550100">+1 (312) 555-0100</a>. '
        'If it gets worse, call <a href="tel:911">911</a>.' in text
    )
    assert '<a class="button call-button" href="tel:+13125550100">Call your clinic</a>' in text


def test_without_a_clinic_phone_the_card_says_where_to_add_it(web, patient):
    Patient.objects.filter(pk=patient.pk).update(emergency_number="112")
    factories.ReactionFactory(patient=patient, kind="bladder", severity="mild")
    text = card(web.get(reverse("today")).content.decode())
    assert 'Call your clinic today. If it gets worse, call <a href="tel:112">112</a>.' in text
    assert f'href="{reverse("settings")}#numbers"' in text


def test_a_resolved_red_flag_stays_on_the_card_until_handled_told_to_call_the_clinic(
    web, clinician, patient, flagged, logged_in
):
    text = card(web.get(reverse("today")).content.decode())
    assert "<h2>Contact your clinic today</h2>" in text and "Get help now" not in text
    assert "Difficulty breathing (severe), logged" in text
    assert "over on 14 Jun. Your clinic has not seen it yet." in " ".join(text.split())
    handle(logged_in(clinician), patient, flagged)
    assert "urgent-card" not in web.get(reverse("today")).content.decode()


def test_without_a_clinic_a_resolved_red_flag_leaves_the_card(web, patient):
    factories.ReactionFactory(
        patient=patient, kind="breathing", onset_date=days_ago(2), resolved_date=days_ago(1)
    )
    assert "urgent-card" not in web.get(reverse("today")).content.decode()


def test_both_tiers_show_get_help_now_first(web, patient):
    factories.ReactionFactory(patient=patient, kind="infection", severity="mild")
    factories.ReactionFactory(patient=patient, kind="cannot_swallow", severity="mild")
    text = card(web.get(reverse("today")).content.decode())
    assert text.index("Get help now") < text.index("Contact your clinic today")


def test_a_severe_condition_reaction_brings_the_card_after_saving(web, patient):
    data = {"kinds": ["swallowing_mild"], "severity": "severe", "onset_date": TODAY.isoformat()}
    response = web.post(reverse("reaction_new"), data)
    assert response.url == reverse("today")
    data["severity"] = "mild"
    assert web.post(reverse("reaction_new"), data).url == reverse("reaction_list")


def test_changing_a_reaction_to_severe_brings_the_card(web, patient):
    reaction = factories.ReactionFactory(patient=patient, kind="voice_change")
    data = {"kind": "voice_change", "severity": "severe", "onset_date": TODAY.isoformat()}
    response = web.post(reverse("reaction_edit", args=[reaction.pk]), data)
    assert response.url == reverse("today")


# The numbers, in the patient's settings


def test_the_settings_page_offers_the_numbers_with_the_countrys_default(web):
    html = web.get(reverse("settings")).content.decode()
    assert 'id="numbers"' in html
    assert "Leave empty to use 999, the number we know in Britain (UK)" in html


def test_the_patient_saves_their_numbers(web, patient):
    response = web.post(
        reverse("numbers_settings"),
        {"emergency_number": " 112 ", "clinic_phone": "020  7946 0000"},
    )
    assert response.status_code == 302
    assert response.url == reverse("settings") + "#numbers"
    patient.refresh_from_db()
    assert (patient.emergency_number, patient.clinic_phone) == ("112", "020 7946 0000")
    web.post(reverse("numbers_settings"), {"emergency_number": "", "clinic_phone": ""})
    patient.refresh_from_db()
    assert (patient.emergency_number, patient.clinic_phone) == ("", "")


@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        ("clinic_phone", "call me", "Use only digits, spaces, +, - and brackets."),
        ("clinic_phone", "12", "A phone number has 3 to 20 digits."),
        ("clinic_phone", "1" * 21, "A phone number has 3 to 20 digits."),
        ("clinic_phone", "1" * 31, "Ensure this value has at most 30 characters"),
        (
            "emergency_number",
            "1 1 1 1 1 1 1 1 1 1 1",
            "Ensure this value has at most 20 characters",
        ),
        ("emergency_number", "999 or 112", "Use only digits, spaces, +, - and brackets."),
    ],
)
def test_a_bad_number_is_refused_with_a_message(web, patient, field, typed, error):
    response = web.post(reverse("numbers_settings"), {field: typed})
    assert response.status_code == 200
    assert error in response.content.decode()
    patient.refresh_from_db()
    assert getattr(patient, field) == ""


def test_the_numbers_settings_take_posts_only(web):
    assert web.get(reverse("numbers_settings")).status_code == 405
