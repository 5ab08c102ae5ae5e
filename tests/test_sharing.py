import datetime as dt
import re
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.conftest import NOW, injection_form
from tracker.models import (
    SHARE_CODE_ALPHABET,
    AccessEvent,
    Injection,
    Invitation,
    Patient,
    Share,
    User,
)

pytestmark = pytest.mark.usefixtures("frozen_now")


@pytest.fixture
def invitation(stranger_clinician) -> Invitation:
    """An invitation from a clinician the patient does not share with yet."""
    return Invitation.issue(stranger_clinician)


def accept_url(invitation: Invitation) -> str:
    return reverse("share_accept", args=[invitation.token])


# The clinician's invitation and share code


def test_a_clinician_makes_an_invitation_valid_for_14_days(stranger_clinician, logged_in):
    response = logged_in(stranger_clinician).post(reverse("clinic_invite"))
    invitation = Invitation.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("clinic_invitation", args=[invitation.pk])
    assert invitation.clinician == stranger_clinician
    assert len(invitation.token) >= 32
    assert invitation.expires_at == NOW + dt.timedelta(days=14)
    assert invitation.is_open


def test_the_invitation_page_shows_the_link_and_a_qr_code_drawn_on_the_server(
    stranger_clinician, invitation, logged_in
):
    response = logged_in(stranger_clinician).get(reverse("clinic_invitation", args=[invitation.pk]))
    html = response.content.decode()
    assert f"http://testserver/share/accept/{invitation.token}/" in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg
    assert "<path" in svg
    assert "style=" not in html  # a strict CSP allows no inline styles
    assert "<script" not in svg


def test_a_share_code_is_made_once_from_an_unambiguous_alphabet(stranger_clinician, logged_in):
    client = logged_in(stranger_clinician)
    client.get(reverse("clinic_invite"))
    stranger_clinician.refresh_from_db()
    code = stranger_clinician.share_code
    assert len(code) == 8
    assert set(code) <= set(SHARE_CODE_ALPHABET)
    assert not set(code) & set("01OIL")
    html = client.get(reverse("clinic_invite")).content.decode()
    stranger_clinician.refresh_from_db()
    assert stranger_clinician.share_code == code
    assert f"{code[:4]}-{code[4:]}" in html


def test_share_codes_do_not_collide(db, monkeypatch):
    first, second = factories.ClinicianFactory(), factories.ClinicianFactory()
    codes = iter(["AAAA2222", "AAAA2222", "BBBB3333"])
    monkeypatch.setattr("tracker.models.new_share_code", lambda: next(codes))
    assert first.ensure_share_code() == "AAAA2222"
    assert second.ensure_share_code() == "BBBB3333"


def test_only_clinicians_have_invitation_pages(patient, invitation, logged_in):
    client = logged_in(patient.user)
    assert client.get(reverse("clinic_invite")).status_code == 404
    assert client.post(reverse("clinic_invite")).status_code == 404
    assert client.get(reverse("clinic_invitation", args=[invitation.pk])).status_code == 404
    assert Invitation.objects.count() == 1


def test_a_clinician_cannot_see_another_clinicians_invitation(clinician, invitation, logged_in):
    response = logged_in(clinician).get(reverse("clinic_invitation", args=[invitation.pk]))
    assert response.status_code == 404
    assert invitation.token not in response.content.decode()


# The patient opens the invitation link


def test_an_anonymous_visitor_is_offered_sign_up_or_log_in_coming_back_to_the_link(invitation):
    invitation.clinician.first_name, invitation.clinician.last_name = "Ana", "Jones"
    invitation.clinician.save()
    html = Client().get(accept_url(invitation)).content.decode()
    back = quote(accept_url(invitation), safe="")
    assert "Ana Jones invites you to share your diary" in html
    assert f"{reverse('account_signup')}?next={back}" in html
    assert f"{reverse('account_login')}?next={back}" in html
    assert not Share.objects.exists()


def test_a_patient_confirms_the_share_in_one_post(patient, invitation, logged_in):
    client = logged_in(patient.user)
    page = client.get(accept_url(invitation)).content.decode()
    assert "will be able to see your diary: check-ins, injections, reactions and relief" in page
    assert "You can stop sharing at any time." in page
    assert not Share.objects.filter(clinician=invitation.clinician).exists()

    response = client.post(accept_url(invitation))

    assert response.status_code == 302
    assert response.url == reverse("sharing")
    share = Share.objects.get(clinician=invitation.clinician)
    assert (share.patient, share.revoked_at) == (patient, None)
    invitation.refresh_from_db()
    assert (invitation.used_at, invitation.used_by) == (NOW, patient)


def test_an_invitation_works_only_once(patient, other_patient, invitation, logged_in):
    logged_in(patient.user).post(accept_url(invitation))
    response = logged_in(other_patient.user).post(accept_url(invitation))
    assert response.status_code == 404
    assert "This invitation can't be used" in response.content.decode()
    assert list(Patient.objects.visible_to(invitation.clinician)) == [patient]


@pytest.mark.parametrize("state", ["unknown", "expired", "used"])
def test_an_unusable_link_says_so_without_naming_anyone(patient, other_patient, state, logged_in):
    clinician = factories.ClinicianFactory(first_name="Secretia", last_name="Nameless")
    invitation = Invitation.issue(clinician)
    if state == "expired":
        Invitation.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    if state == "used":
        invitation.accept(other_patient)
    url = accept_url(invitation) if state != "unknown" else "/share/accept/not-a-token/"
    for client in [Client(), logged_in(patient.user)]:
        for method in [client.get, client.post]:
            response = method(url)
            html = response.content.decode()
            assert response.status_code == 404
            assert "has expired, has already been used, or is incomplete" in html
            assert "Secretia" not in html
    assert not Share.objects.filter(patient=patient).exists()


def test_a_clinician_opening_an_invitation_link_is_told_it_is_for_patients(
    clinician, invitation, logged_in
):
    response = logged_in(clinician).post(accept_url(invitation))
    assert response.status_code == 404
    assert "Invitation links are for patients" in response.content.decode()
    assert Invitation.objects.get().is_open


def test_a_new_patient_onboards_then_comes_back_to_the_invitation(invitation, logged_in):
    user = factories.UserFactory()
    client = logged_in(user)
    response = client.get(accept_url(invitation))
    assert response.status_code == 302
    assert response.url == f"{reverse('onboarding')}?next={quote(accept_url(invitation), safe='')}"

    response = client.post(
        response.url, {"conditions": ["blepharospasm"], "time_zone": "Europe/London"}
    )

    assert response.status_code == 302
    assert response.url == accept_url(invitation)
    assert "will be able to see your diary" in client.get(response.url).content.decode()


def test_onboarding_ignores_a_next_link_to_another_site(db, logged_in):
    client = logged_in(factories.UserFactory())
    response = client.post(
        f"{reverse('onboarding')}?next=https://evil.example/",
        {"conditions": ["blepharospasm"], "time_zone": "Europe/London"},
    )
    assert response.url == reverse("today")


def test_signing_up_from_an_invitation_leads_back_to_it(invitation, mailoutbox):
    client = Client()
    signup = f"{reverse('account_signup')}?next={quote(accept_url(invitation), safe='')}"
    client.post(
        signup,
        {
            "name": "Invited Patient",
            "email": "invited@example.com",
            "password1": "a long enough passphrase",
        },
    )
    link = re.search(r"https?://testserver(\S+)", mailoutbox[0].body).group(1)

    response = client.post(link, follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("onboarding"))
    response = client.post(
        response.redirect_chain[-1][0],
        {"conditions": ["cervical_dystonia"], "time_zone": "Europe/London"},
        follow=True,
    )
    client.post(accept_url(invitation))
    patient = Patient.objects.get(user__email="invited@example.com")
    assert list(Patient.objects.visible_to(invitation.clinician)) == [patient]


# Sharing by the clinician's share code


def test_a_patient_shares_by_typing_the_code_and_confirming(patient, stranger_clinician, logged_in):
    stranger_clinician.first_name = "Ana"
    stranger_clinician.save()
    code = stranger_clinician.ensure_share_code()
    client = logged_in(patient.user)
    typed = f" {code[:4].lower()}-{code[4:].lower()} "

    page = client.get(reverse("share_code"), {"code": typed}).content.decode()

    assert "Share your diary with Ana?" in page
    assert not Share.objects.filter(clinician=stranger_clinician).exists()
    response = client.post(reverse("share_code"), {"code": code})
    assert response.url == reverse("sharing")
    assert Share.objects.active().filter(patient=patient, clinician=stranger_clinician).exists()


@pytest.mark.parametrize("code", ["", "NOPE-NOPE", "x" * 30])
def test_an_unknown_code_is_refused_with_a_message(patient, code, logged_in):
    response = logged_in(patient.user).get(reverse("share_code"), {"code": code})
    assert response.status_code == 200
    assert response.context["code_form"].errors["code"]
    assert Share.objects.count() == 0


def test_a_patient_cannot_share_with_another_patient_by_code(patient, other_patient, logged_in):
    User.objects.filter(pk=other_patient.user.pk).update(share_code="PATIENT2")
    response = logged_in(patient.user).post(reverse("share_code"), {"code": "PATIENT2"})
    assert response.status_code == 200
    assert not Share.objects.exists()


def test_sharing_twice_keeps_one_active_share(patient, clinician, logged_in):
    code = clinician.ensure_share_code()
    logged_in(patient.user).post(reverse("share_code"), {"code": code})
    assert Share.objects.filter(patient=patient, clinician=clinician).count() == 1


# Stopping


def test_stop_sharing_is_one_post_and_the_clinicians_next_request_is_refused(
    patient, clinician, logged_in
):
    clinic = logged_in(clinician)
    export = reverse("clinic_export_csv", args=[patient.pk])
    assert clinic.get(export).status_code == 200
    share = Share.objects.get()

    response = logged_in(patient.user).post(reverse("share_revoke", args=[share.pk]))

    assert response.url == reverse("sharing")
    share.refresh_from_db()
    assert share.revoked_at == NOW
    assert clinic.get(export).status_code == 404
    assert clinic.get(reverse("clinic")).context["items"] == []


def test_sharing_again_after_stopping_makes_a_new_share(patient, clinician, logged_in):
    old = Share.objects.get()
    old.revoke()
    logged_in(patient.user).post(reverse("share_code"), {"code": clinician.ensure_share_code()})
    assert Share.objects.filter(patient=patient).count() == 2
    assert Share.objects.active().get(patient=patient).pk != old.pk
    assert list(Patient.objects.visible_to(clinician)) == [patient]


def test_stop_sharing_asks_first_and_asking_changes_nothing(patient, clinician, logged_in):
    share = Share.objects.get()
    response = logged_in(patient.user).get(reverse("share_revoke", args=[share.pk]))
    assert response.status_code == 200
    assert f"Stop sharing with {share.recipient_name}?" in response.content.decode()
    assert Share.objects.active().exists()


def test_nobody_else_can_stop_a_patients_share(patient, clinician, other_patient, logged_in):
    share = Share.objects.get()
    for user in [other_patient.user, clinician]:
        response = logged_in(user).post(reverse("share_revoke", args=[share.pk]))
        assert response.status_code == 404
    assert Share.objects.active().exists()


def test_the_sharing_page_lists_active_shares_with_a_stop_button(patient, clinician, logged_in):
    gone = factories.ClinicianFactory(first_name="Former")
    factories.ShareFactory(patient=patient, clinician=gone).revoke()
    html = logged_in(patient.user).get(reverse("sharing")).content.decode()
    share = Share.objects.active().get()
    assert reverse("share_revoke", args=[share.pk]) in html
    assert "Former" not in html


def test_the_settings_page_links_to_sharing(patient, logged_in):
    html = logged_in(patient.user).get(reverse("settings")).content.decode()
    assert reverse("sharing") in html


# Who looked


def test_every_clinician_look_is_one_row_of_the_access_history(patient, clinician, logged_in):
    client = logged_in(clinician)
    client.get(reverse("clinic_export_csv", args=[patient.pk]))
    client.get(reverse("clinic_export_fhir", args=[patient.pk]) + "?x=1")
    client.get(reverse("clinic_injection_new", args=[patient.pk]))
    events = list(
        AccessEvent.objects.order_by("pk").values_list("clinician", "patient", "what", "path")
    )
    assert events == [
        (clinician.pk, patient.pk, "csv", f"/clinic/patients/{patient.pk}/export.csv"),
        (clinician.pk, patient.pk, "fhir", f"/clinic/patients/{patient.pk}/fhir.json?x=1"),
        (clinician.pk, patient.pk, "entry", f"/clinic/patients/{patient.pk}/injections/new/"),
    ]


def test_refused_requests_and_the_patients_own_exports_are_not_recorded(
    patient, clinician, stranger_clinician, logged_in
):
    logged_in(stranger_clinician).get(reverse("clinic_export_csv", args=[patient.pk]))
    logged_in(patient.user).get(reverse("export_csv"))
    logged_in(patient.user).get(reverse("clinic_export_csv", args=[patient.pk]))
    assert not AccessEvent.objects.exists()


def test_the_patient_reads_who_looked_newest_first_in_their_time_zone(
    patient, clinician, logged_in
):
    clinician.first_name, clinician.last_name = "Sam", "Rivera"
    clinician.save()
    Patient.objects.filter(pk=patient.pk).update(time_zone="America/New_York")
    client = logged_in(clinician)
    client.get(reverse("clinic_export_csv", args=[patient.pk]))
    AccessEvent.objects.update(at=NOW - dt.timedelta(hours=1))
    client.get(reverse("clinic_export_fhir", args=[patient.pk]))

    html = logged_in(patient.user).get(reverse("sharing")).content.decode()

    # 12:00 UTC is 08:00 in New York in June.
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" ,", ",")
    fhir = (
        "Sam Rivera downloaded your diary for a health record (FHIR) once on Mon 15 Jun 2026, "
        "at 08:00."
    )
    csv = "Sam Rivera downloaded your diary (CSV) once on Mon 15 Jun 2026, at 07:00."
    assert fhir in text and csv in text, text[text.find("Who opened") :][:600]
    assert text.index(fhir) < text.index(csv)


def test_the_access_history_shows_20_at_a_time_with_a_link_to_older(patient, clinician, logged_in):
    events = AccessEvent.objects.bulk_create(
        AccessEvent(patient=patient, clinician=clinician, what="csv", path="/x") for _ in range(25)
    )
    for back, event in enumerate(events):  # one line per day: 25 days
        AccessEvent.objects.filter(pk=event.pk).update(at=NOW - dt.timedelta(days=back))
    client = logged_in(patient.user)
    first = client.get(reverse("sharing"))
    assert len(first.context["events"]) == 20
    assert "?page=2#history" in first.content.decode()
    assert len(client.get(reverse("sharing"), {"page": 2}).context["events"]) == 5


def test_a_patient_sees_only_their_own_access_history(patient, clinician, other_patient, logged_in):
    logged_in(clinician).get(reverse("clinic_export_csv", args=[patient.pk]))
    response = logged_in(other_patient.user).get(reverse("sharing"))
    assert list(response.context["events"]) == []


# The one change a clinician may make: an injection they gave


def injection_post(**changes) -> dict:
    """The form of yesterday's injection, given by Dr Doc into one sternocleidomastoid."""
    given = {"injector": "Dr Doc", "sites-0-muscle": "sternocleidomastoid"}
    return injection_form(**given | changes)


def test_a_clinician_with_access_records_an_injection_they_gave(patient, clinician, logged_in):
    url = reverse("clinic_injection_new", args=[patient.pk])
    page = logged_in(clinician).get(url)
    assert page.status_code == 200
    assert patient.display_name in page.content.decode()

    response = logged_in(clinician).post(url, injection_post())

    assert response.url == reverse("clinic")
    injection = Injection.objects.get()
    assert (injection.patient, injection.entered_by, injection.total_units) == (
        patient,
        clinician,
        100,
    )
    assert [site.muscle for site in injection.sites.all()] == ["sternocleidomastoid"]
    patient_page = logged_in(patient.user).get(reverse("injection_list")).content.decode()
    assert "Entered by your clinic" in patient_page


def test_the_clinics_injection_form_is_never_kept_for_later_offline(patient, clinician, logged_in):
    url = reverse("clinic_injection_new", args=[patient.pk])
    html = logged_in(clinician).get(url).content.decode()
    assert f"Add an injection for {patient.display_name}" in html
    assert "_outbox_type" not in html


def test_an_injection_form_with_errors_saves_nothing(patient, clinician, logged_in):
    url = reverse("clinic_injection_new", args=[patient.pk])
    response = logged_in(clinician).post(url, injection_post(total_units="150"))
    assert response.status_code == 200
    assert "The sites add up to 100 units" in response.content.decode()
    assert not Injection.objects.exists()


def test_a_clinician_without_access_cannot_record_an_injection(
    patient, clinician, stranger_clinician, logged_in
):
    url = reverse("clinic_injection_new", args=[patient.pk])
    assert logged_in(stranger_clinician).post(url, injection_post()).status_code == 404
    assert logged_in(patient.user).post(url, injection_post()).status_code == 404
    Share.objects.get().revoke()
    assert logged_in(clinician).post(url, injection_post()).status_code == 404
    assert not Injection.objects.exists()
