"""The admin site: staff reach no page of it without a second factor, and an administrator's look
at a patient's records is in that patient's access history, as a clinician's is."""

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from tests import factories
from tracker.models import AccessEvent

PASSWORD = "correct horse battery"  # tests/factories.py
ADMIN_ADDRESS = "192.0.2.44"


def staff(username: str, *, two_factor: bool, superuser: bool = True):
    user = factories.UserFactory(username=username, is_staff=True, is_superuser=superuser)
    if two_factor:
        Authenticator.objects.create(
            user=user, type=Authenticator.Type.TOTP, data={"secret": factories.TOTP_SECRET}
        )
    return user


@pytest.fixture
def records(patient, injection):
    """One of each of the patient's records the admin lists."""
    return {
        "patient": patient,
        "dailylog": factories.DailyLogFactory(patient=patient),
        "injection": injection,
        "reaction": factories.ReactionFactory(patient=patient),
        "share": factories.ShareFactory(patient=patient, clinician=factories.ClinicianFactory()),
    }


def admin_pages(records) -> list[str]:
    pages = [reverse("admin:index"), reverse("admin:login"), reverse("admin:tracker_user_add")]
    for model, record in records.items():
        pages.append(reverse(f"admin:tracker_{model}_changelist"))
        pages.append(reverse(f"admin:tracker_{model}_change", args=[record.pk]))
        pages.append(reverse(f"admin:tracker_{model}_history", args=[record.pk]))
    return pages


# A second factor before any admin page.


@pytest.mark.parametrize("superuser", [True, False], ids=["superuser", "staff"])
def test_staff_without_a_second_factor_get_no_admin_page(records, logged_in, superuser):
    client = logged_in(staff("root", two_factor=False, superuser=superuser))
    for page in admin_pages(records):
        response = client.get(page)
        assert response.status_code == 302, page
        assert response["Location"] == reverse("mfa_activate_totp"), page
    assert not AccessEvent.objects.exists()  # nothing was shown


def test_staff_without_a_second_factor_are_told_to_set_one_up(db, logged_in):
    client = logged_in(staff("root", two_factor=False))
    page = client.get(reverse("admin:index"), follow=True).content.decode()
    assert "Set up two-factor authentication" in page


def test_staff_without_a_second_factor_cannot_use_djangos_own_admin_log_in(db, logged_in):
    other = staff("other-root", two_factor=False)
    client = logged_in(staff("root", two_factor=False))
    form = {"username": other.username, "password": PASSWORD, "next": "/admin/"}
    response = client.post(reverse("admin:login"), form)
    assert response["Location"] == reverse("mfa_activate_totp")
    assert client.session["_auth_user_id"] != str(other.pk)


def test_a_superuser_logging_in_with_a_password_alone_is_sent_to_set_up_a_second_factor(db):
    root = staff("root", two_factor=False)
    EmailAddress.objects.create(user=root, email=root.email, verified=True, primary=True)
    client = Client()
    login = client.post(reverse("account_login"), {"login": "root", "password": PASSWORD})
    assert login.status_code == 302
    response = client.get(reverse("admin:tracker_patient_changelist"))
    assert response["Location"] == reverse("mfa_activate_totp")


def test_with_a_second_factor_every_admin_page_opens(records, logged_in):
    client = logged_in(staff("root", two_factor=True))
    for page in admin_pages(records):
        if page == reverse("admin:login"):
            continue  # already logged in: sent on to the index
        assert client.get(page).status_code == 200, page


def test_a_patient_gets_no_admin_page(patient, logged_in):
    response = logged_in(patient.user).get(reverse("admin:index"))
    assert response.status_code in {302, 403}
    assert reverse("mfa_activate_totp") not in response.get("Location", "")


# An administrator's look is in the patient's access history.


@pytest.mark.parametrize("model", ["patient", "dailylog", "injection", "reaction", "share"])
def test_an_admin_opening_a_patients_record_is_in_their_access_history(
    records, logged_in, other_patient, model
):
    root = staff("root", two_factor=True)
    page = reverse(f"admin:tracker_{model}_change", args=[records[model].pk])
    response = logged_in(root).get(page, REMOTE_ADDR=ADMIN_ADDRESS)
    assert response.status_code == 200
    event = AccessEvent.objects.get()
    assert event.patient == records["patient"]
    assert event.clinician == root
    assert event.what == AccessEvent.What.ADMIN
    assert event.path == page
    assert event.address == ADMIN_ADDRESS
    assert not other_patient.access_events.exists()


@pytest.mark.parametrize("model", ["patient", "dailylog", "injection", "reaction", "share"])
def test_an_admin_list_is_in_the_history_of_each_patient_it_shows(
    records, logged_in, other_patient, model
):
    factories.DailyLogFactory(patient=other_patient)
    factories.ReactionFactory(patient=other_patient)
    root = staff("root", two_factor=True)
    page = reverse(f"admin:tracker_{model}_changelist")
    assert logged_in(root).get(page).status_code == 200
    shown = {records["patient"].pk}
    if model in {"patient", "dailylog", "reaction"}:
        shown.add(other_patient.pk)
    assert set(AccessEvent.objects.values_list("patient", flat=True)) == shown
    assert set(AccessEvent.objects.values_list("what", flat=True)) == {AccessEvent.What.ADMIN}


def test_a_search_in_the_admin_is_in_the_history_of_those_found_only(
    records, logged_in, other_patient
):
    root = staff("root", two_factor=True)
    page = reverse("admin:tracker_patient_changelist") + "?q=other"
    assert logged_in(root).get(page).status_code == 200
    assert list(AccessEvent.objects.values_list("patient", flat=True)) == [other_patient.pk]


def test_the_owner_sees_the_admins_look_on_their_sharing_page(records, logged_in):
    root = staff("root", two_factor=True)
    root.first_name, root.last_name = "Sam", "Admin"
    root.save()
    page = reverse("admin:tracker_reaction_change", args=[records["reaction"].pk])
    logged_in(root).get(page)
    sharing = logged_in(records["patient"].user).get(reverse("sharing")).content.decode()
    assert "<strong>Sam Admin</strong> opened your record on the admin site" in sharing
