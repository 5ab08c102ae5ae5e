"""Clinic teams: a patient shares with a clinic; its clinicians and nurses read the diary, its
coordinators see the list and no diary; an admin invites members by email and removes them, and
removal cuts access at once; the patient's access history names the person and their clinic.
The access matrix (tests/test_access_matrix.py) asks every route as each role."""

import datetime as dt
import re
from io import StringIO

import pytest
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tracker.access import diary_readers
from tracker.models import (
    AccessEvent,
    Clinic,
    Invitation,
    InvitationUnusable,
    MemberInvitation,
    Membership,
    Patient,
    Share,
    User,
    share_diary,
)

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def jobs_run_at_once(settings):
    settings.TASKS = IMMEDIATE


@pytest.fixture
def clinic(db):
    return Clinic.objects.create(name="Riverside Neurology", phone="020 7946 0000")


def join(clinic: Clinic, role: str, username: str, *, admin: bool = False) -> User:
    user = factories.ClinicianFactory(
        username=username, first_name=username.title(), last_name="Member"
    )
    Membership.objects.create(clinic=clinic, user=user, role=role, is_admin=admin)
    return user


@pytest.fixture
def team(clinic):
    return {
        "admin": join(clinic, "clinician", "doctor", admin=True),
        "nurse": join(clinic, "nurse", "nurse"),
        "coordinator": join(clinic, "coordinator", "coordinator"),
    }


@pytest.fixture
def shared(patient, clinic):
    share_diary(patient, clinic=clinic)
    return patient


def report(patient: Patient) -> str:
    return reverse("clinic_report", args=[patient.pk])


# Who reads what


def test_clinicians_and_nurses_read_the_diary_coordinators_only_list_it(
    logged_in, team, shared, stranger_clinician
):
    for role in ("admin", "nurse"):
        assert logged_in(team[role]).get(report(shared)).status_code == 200, role
    assert logged_in(team["coordinator"]).get(report(shared)).status_code == 404
    assert logged_in(stranger_clinician).get(report(shared)).status_code == 404
    readers = set(diary_readers(shared).values_list("username", flat=True))
    assert readers == {"doctor", "nurse"}
    listed = Patient.objects.listed_for(team["coordinator"])
    assert list(listed) == [shared]
    assert not Patient.objects.visible_to(team["coordinator"]).exists()


def test_the_coordinators_list_names_the_patient_with_no_way_into_the_diary(
    logged_in, team, shared
):
    factories.ReactionFactory(patient=shared, kind="breathing", severity="severe", note="Gasping")
    page = logged_in(team["coordinator"]).get(reverse("clinic")).content.decode()
    assert shared.display_name in page
    assert report(shared) not in page
    assert "Gasping" not in page


def test_removing_a_member_cuts_their_access_at_once(logged_in, team, shared, clinic):
    nurse = logged_in(team["nurse"])
    assert nurse.get(report(shared)).status_code == 200
    admin = logged_in(team["admin"])
    membership = Membership.objects.get(user=team["nurse"])
    assert admin.get(reverse("team_member_remove", args=[membership.pk])).status_code == 200
    response = admin.post(reverse("team_member_remove", args=[membership.pk]))
    assert response.status_code == 302
    assert nurse.get(report(shared)).status_code == 404
    assert team["nurse"] not in diary_readers(shared)


def test_only_an_admin_of_the_clinic_removes_and_never_the_last_admin(
    logged_in, team, clinic, stranger_clinician
):
    nurse_membership = Membership.objects.get(user=team["nurse"])
    for outsider in (team["coordinator"], stranger_clinician):
        url = reverse("team_member_remove", args=[nurse_membership.pk])
        assert logged_in(outsider).post(url).status_code == 404
    assert Membership.objects.active().filter(pk=nurse_membership.pk).exists()
    admin_membership = Membership.objects.get(user=team["admin"])
    logged_in(team["admin"]).post(reverse("team_member_remove", args=[admin_membership.pk]))
    assert Membership.objects.active().filter(pk=admin_membership.pk).exists()


def test_a_patient_who_stops_sharing_with_the_clinic_is_gone_for_every_member(
    logged_in, team, shared
):
    Share.objects.active().get(patient=shared).revoke()
    for user in team.values():
        assert logged_in(user).get(report(shared)).status_code == 404
    assert not diary_readers(shared).exists()

    # Those who read it are told when, as a clinician shared with alone is; the coordinator,
    # who never read it, only that it is not shared.
    ended = (
        f"stopped sharing their diary with Riverside Neurology on {timezone.localdate():%-d %B %Y}"
    )
    for role in ("admin", "nurse"):
        assert ended in logged_in(team[role]).get(report(shared)).content.decode(), role
    told = logged_in(team["coordinator"]).get(report(shared)).content.decode()
    assert "stopped sharing" not in told and "not shared with you" in told


# The access history


def test_the_access_history_names_the_person_and_their_clinic(logged_in, team, shared, web):
    logged_in(team["nurse"]).get(report(shared))
    event = AccessEvent.objects.get(patient=shared)
    assert (event.clinician, event.clinic.name) == (team["nurse"], "Riverside Neurology")
    page = web.get(reverse("sharing")).content.decode()
    assert "<strong>Nurse Member</strong> (Riverside Neurology) viewed your report" in page


# Inviting members


def test_an_admin_invites_a_colleague_by_email_and_the_email_names_no_patient(
    logged_in, team, clinic, django_capture_on_commit_callbacks
):
    body = {"clinic": clinic.pk, "email": "new@clinic.example", "role": "nurse"}
    with django_capture_on_commit_callbacks(execute=True):
        response = logged_in(team["admin"]).post(reverse("team"), body)
    assert response.status_code == 302
    invitation = MemberInvitation.objects.get()
    assert (invitation.email, invitation.role, invitation.clinic) == (
        "new@clinic.example",
        "nurse",
        clinic,
    )
    [email] = mail.outbox
    assert email.to == ["new@clinic.example"]
    assert reverse("team_join", args=[invitation.token]) in email.body
    assert "Doctor Member invited you to join Riverside Neurology" in email.body
    assert "patient" not in email.body.lower()


@pytest.mark.parametrize("who", ["nurse", "coordinator"])
def test_members_who_are_not_admins_cannot_invite(logged_in, team, clinic, who):
    body = {"clinic": clinic.pk, "email": "x@clinic.example", "role": "clinician"}
    assert logged_in(team[who]).post(reverse("team"), body).status_code == 404
    assert not MemberInvitation.objects.exists()
    page = logged_in(team[who]).get(reverse("team")).content.decode()
    assert "Send the invitation" not in page
    assert "Doctor Member" in page


def test_an_invitation_with_a_bad_email_says_so_on_its_field(logged_in, team, clinic):
    response = logged_in(team["admin"]).post(
        reverse("team"), {"clinic": clinic.pk, "email": "not an email", "role": "nurse"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not MemberInvitation.objects.exists()


def test_a_new_colleague_makes_an_account_from_the_link_and_must_add_a_second_factor(
    team, shared, clinic
):
    invitation = MemberInvitation.issue(clinic, "jo@clinic.example", "nurse", team["admin"])
    browser = Client()
    url = reverse("team_join", args=[invitation.token])
    assert "Join Riverside Neurology" in browser.get(url).content.decode()
    body = {"name": "Jo Bloggs", "username": "jo", "password": "a long enough passphrase"}
    response = browser.post(url, body)
    assert response.status_code == 302
    jo = User.objects.get(username="jo")
    assert (jo.role, jo.get_full_name(), jo.email) == ("clinician", "Jo Bloggs", invitation.email)
    assert jo.emailaddress_set.get().verified
    assert Membership.objects.active().get(user=jo).role == "nurse"
    # No patient before an authenticator app: the clinic's pages send them to set one up.
    response = browser.get(report(shared))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    # The link worked once.
    assert Client().get(url).status_code == 404


def test_a_new_account_from_the_link_needs_a_free_username_and_a_good_password(team, clinic):
    invitation = MemberInvitation.issue(clinic, "jo@clinic.example", "nurse", team["admin"])
    url = reverse("team_join", args=[invitation.token])
    response = Client().post(url, {"name": "Jo", "username": "nurse", "password": "short"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "This username is taken" in page
    assert "This password is too short" in page
    assert MemberInvitation.objects.usable().filter(pk=invitation.pk).exists()


def test_a_colleague_with_an_account_joins_once_logged_in(logged_in, team, clinic, shared):
    colleague = factories.ClinicianFactory(username="colleague")
    invitation = MemberInvitation.issue(clinic, "c@clinic.example", "clinician", team["admin"])
    browser = logged_in(colleague)
    assert browser.post(reverse("team_join", args=[invitation.token])).status_code == 302
    assert browser.get(report(shared)).status_code == 200


def test_a_patient_cannot_join_a_clinic(web, team, clinic):
    invitation = MemberInvitation.issue(clinic, "p@example.com", "nurse", team["admin"])
    response = web.post(reverse("team_join", args=[invitation.token]))
    assert response.status_code == 403
    assert not Membership.objects.filter(user__role="patient").exists()


@pytest.mark.parametrize("spoil", ["expired", "used", "withdrawn", "unknown"])
def test_a_spoilt_invitation_link_answers_the_same_404(team, clinic, spoil):
    invitation = MemberInvitation.issue(clinic, "x@clinic.example", "nurse", team["admin"])
    token = invitation.token
    if spoil == "expired":
        invitation.expires_at = timezone.now() - dt.timedelta(minutes=1)
    elif spoil == "used":
        invitation.used_at = timezone.now()
    elif spoil == "withdrawn":
        invitation.withdrawn_at = timezone.now()
    else:
        token = "not-a-token"
    invitation.save()
    body = {"name": "X", "username": "x-user", "password": "a long enough passphrase"}
    response = Client().post(reverse("team_join", args=[token]), body)
    assert response.status_code == 404
    assert "This invitation can't be used" in response.content.decode()
    assert not User.objects.filter(username="x-user").exists()


def test_an_admin_withdraws_an_invitation(logged_in, team, clinic):
    invitation = MemberInvitation.issue(clinic, "x@clinic.example", "nurse", team["admin"])
    url = reverse("team_invitation_withdraw", args=[invitation.pk])
    assert logged_in(team["nurse"]).post(url).status_code == 404
    assert logged_in(team["admin"]).post(url).status_code == 302
    assert not MemberInvitation.objects.usable().exists()


# Sharing with a clinic


def test_a_clinicians_code_offers_their_clinic_or_them_alone(logged_in, team, patient, web):
    code = team["admin"].ensure_share_code()
    page = web.get(reverse("share_code"), {"code": code}).content.decode()
    assert "Riverside Neurology" in page
    assert "Nurse Member" in page and "Coordinator" in page
    assert "Only Doctor Member" in page
    response = web.post(reverse("share_code"), {"code": code, "to": f"clinic-{team_clinic(team)}"})
    assert response.status_code == 302
    assert Share.objects.active().get(patient=patient).clinic.name == "Riverside Neurology"
    assert logged_in(team["nurse"]).get(report(patient)).status_code == 200


def test_sharing_with_one_clinician_stays_possible(logged_in, team, patient, web):
    code = team["admin"].ensure_share_code()
    web.post(reverse("share_code"), {"code": code, "to": "person"})
    share = Share.objects.active().get(patient=patient)
    assert (share.clinician, share.clinic) == (team["admin"], None)
    assert logged_in(team["nurse"]).get(report(patient)).status_code == 404


def test_a_coordinators_code_shares_with_the_clinic_only(team, patient, web):
    code = team["coordinator"].ensure_share_code()
    response = web.post(reverse("share_code"), {"code": code, "to": "person"})
    assert response.status_code == 400
    assert not Share.objects.filter(patient=patient).exists()
    web.post(reverse("share_code"), {"code": code, "to": f"clinic-{team_clinic(team)}"})
    assert Share.objects.active().get(patient=patient).clinic_id == team_clinic(team)


def test_a_members_invitation_shares_with_their_clinic(logged_in, team, patient, web):
    logged_in(team["nurse"]).post(reverse("clinic_invite"))
    invitation = Invitation.objects.get()
    assert invitation.clinic_id == team_clinic(team)
    page = web.get(reverse("share_accept", args=[invitation.token])).content.decode()
    assert "Share your diary with Riverside Neurology?" in page
    web.post(reverse("share_accept", args=[invitation.token]))
    assert Share.objects.active().get(patient=patient).clinic_id == team_clinic(team)
    assert "Riverside Neurology" in web.get(reverse("sharing")).content.decode()


def test_a_removed_members_invitations_no_longer_bring_patients_to_the_clinic(
    logged_in, team, patient, web
):
    """Issued while a member, shown (as a QR code) or kept after they left: the patient gets
    the invalid link's page and shares nothing; the clinic's open invitations leave it out."""
    nurse = logged_in(team["nurse"])
    nurse.post(reverse("clinic_invite"))
    invitation = Invitation.objects.get()
    assert invitation.is_open
    Membership.objects.get(user=team["nurse"]).remove()

    assert not invitation.is_open
    link = reverse("share_accept", args=[invitation.token])
    assert web.get(link).status_code == 404
    assert web.post(link).status_code == 404
    assert not Share.objects.filter(patient=patient).exists()
    assert not Invitation.objects.usable().exists()
    with pytest.raises(InvitationUnusable):
        invitation.accept(patient)
    # Another member's invitation still works.
    logged_in(team["admin"]).post(reverse("clinic_invite"))
    other = Invitation.objects.exclude(pk=invitation.pk).get()
    web.post(reverse("share_accept", args=[other.token]))
    assert Share.objects.active().get(patient=patient).clinic_id == team_clinic(team)


def team_clinic(team) -> int:
    return Membership.objects.get(user=team["admin"]).clinic_id


# The migration


@pytest.mark.django_db(transaction=True)
def test_each_clinician_becomes_a_one_member_clinic_without_losing_or_widening_access():
    executor = MigrationExecutor(connection)
    executor.migrate([("tracker", "0010_jobs_deliveries_print_batches")])
    old = executor.loader.project_state([("tracker", "0010_jobs_deliveries_print_batches")]).apps
    OldUser, OldPatient = old.get_model("tracker", "User"), old.get_model("tracker", "Patient")
    OldShare = old.get_model("tracker", "Share")
    doc = OldUser.objects.create(username="doc", role="clinician", first_name="Ana")
    other_doc = OldUser.objects.create(username="other-doc", role="clinician")
    patients = [
        OldPatient.objects.create(
            user=OldUser.objects.create(username=f"p{n}"), time_zone="Europe/London"
        )
        for n in range(3)
    ]
    OldShare.objects.create(patient=patients[0], clinician=doc)
    OldShare.objects.create(patient=patients[1], clinician=doc, revoked_at=timezone.now())
    OldShare.objects.create(patient=patients[2], clinician=other_doc)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    clinics = {m.user.username: m for m in Membership.objects.select_related("clinic", "user")}
    assert clinics["doc"].clinic.name == "Ana's clinic"
    assert (clinics["doc"].role, clinics["doc"].is_admin) == ("clinician", True)
    assert clinics["other-doc"].clinic.name == "other-doc's clinic"
    assert not Share.objects.filter(clinician__isnull=False).exists()
    seen = {
        username: sorted(
            Patient.objects.visible_to(User.objects.get(username=username)).values_list(
                "user__username", flat=True
            )
        )
        for username in ("doc", "other-doc")
    }
    assert seen == {"doc": ["p0"], "other-doc": ["p2"]}


def test_the_demo_nurse_reads_the_report_and_the_coordinator_sees_the_list_only(db, logged_in):
    from django.core.management import call_command

    call_command("seed_demo", force=True, stdout=StringIO())
    alex = Patient.objects.get(user__username="demo-patient")
    nurse = logged_in(User.objects.get(username="demo-nurse"))
    assert "Alex Morgan" in nurse.get(report(alex)).content.decode()
    coordinator = logged_in(User.objects.get(username="demo-coordinator"))
    assert coordinator.get(report(alex)).status_code == 404
    listed = coordinator.get(reverse("clinic")).content.decode()
    assert all(name in listed for name in ("Alex Morgan", "Tom Becker", "Priya Shah"))
    events = AccessEvent.objects.filter(patient=alex).select_related("clinician", "clinic")
    assert [(e.clinician.username, e.clinic.name) for e in events] == [
        ("demo-nurse", "Demo Neurology Clinic")
    ]
    assert re.search(
        r"Jo Okafor</strong> \(Demo Neurology Clinic\) viewed your report",
        sharing_page(logged_in, alex),
    )


def sharing_page(logged_in, patient: Patient) -> str:
    return logged_in(patient.user).get(reverse("sharing")).content.decode()


# The urgent card


def test_the_urgent_card_calls_the_clinic_the_patient_shares_with(web, shared, clinic):
    factories.ReactionFactory(patient=shared, kind="vision", severity="mild")
    page = web.get(reverse("today")).content.decode()
    assert '<a class="button call-button" href="tel:02079460000">Call your clinic</a>' in page
    Patient.objects.filter(pk=shared.pk).update(clinic_phone="020 7946 1111")
    page = web.get(reverse("today")).content.decode()
    assert 'href="tel:02079461111">Call your clinic</a>' in page


# Red flags reach every member who reads the diary


def test_a_red_flag_alerts_the_clinics_clinicians_and_nurses_not_its_coordinators(
    team, shared, clinic
):
    from tracker.alerts import queue_alert_rows
    from tracker.models import Delivery

    for user in team.values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@clinic.example")
    removed = join(clinic, "nurse", "gone")
    User.objects.filter(pk=removed.pk).update(email="gone@clinic.example")
    Membership.objects.get(user=removed).remove()
    flag = factories.ReactionFactory(patient=shared, kind="breathing", severity="severe")
    queue_alert_rows(str(flag.pk))
    recipients = set(
        Delivery.objects.filter(reaction=flag).values_list("recipient__username", flat=True)
    )
    assert recipients == {"doctor", "nurse"}


def test_an_admin_keeps_the_clinics_details(logged_in, team, clinic):
    url = reverse("team_clinic_details", args=[clinic.pk])
    body = {"name": "Riverside", "phone": "020 7946 2222", "address": "1 Way", "time_zone": "UTC"}
    assert logged_in(team["nurse"]).post(url, body).status_code == 404
    assert logged_in(team["admin"]).post(url, body).status_code == 302
    clinic.refresh_from_db()
    assert (clinic.name, clinic.phone, clinic.time_zone) == ("Riverside", "020 7946 2222", "UTC")
    response = logged_in(team["admin"]).post(url, body | {"phone": "call me maybe"})
    assert response.status_code == 400
    assert 'class="field has-error"' in response.content.decode()


def test_a_batch_printed_by_a_job_names_the_clinic_in_the_access_history(
    team, shared, clinic, django_capture_on_commit_callbacks
):
    """The print job's access rows name the clinic whose share let the member in, as the
    pages' do (tracker/access.py)."""
    pytest.importorskip("weasyprint")
    from tracker import jobs

    with django_capture_on_commit_callbacks(execute=True):
        jobs.enqueue_batch_pdf(team["nurse"], [shared.pk])
    event = AccessEvent.objects.get(patient=shared)
    assert (event.clinician, event.what, event.clinic) == (team["nurse"], "pdf", clinic)
