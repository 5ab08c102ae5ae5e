"""A stranger's first minute: the landing page, signing up with a name, the verification email
that names the product and can be sent again, and a real address to write to."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.urls import reverse

from tests import factories
from tracker.models import User

SIGN_UP = {"name": "  Ana   Lima ", "email": "ana@example.com", "password1": "a long enough secret"}


def text_of(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_a_stranger_at_the_root_sees_what_the_app_is_and_the_two_ways_in(client):
    response = client.get("/")

    assert response.status_code == 200
    words = text_of(response)
    assert "botulinum toxin for muscle spasm" in words
    assert "their clinics" in words
    assert "only the clinics you choose can see it" in words
    assert "What your clinic sees, and what it does not" in words
    assert "Share" in words and "Add to Home Screen" in words  # iPhone
    assert "Install app" in words  # Android
    assert f'href="{reverse("account_signup")}"' in response.content.decode()
    assert f'href="{reverse("account_login")}"' in response.content.decode()


def test_the_landing_page_gives_the_contact_address_from_settings(client, settings):
    settings.RELIEF_CONTACT_EMAIL = "help@clinic.example"

    assert "mailto:help@clinic.example" in client.get("/").content.decode()


def test_a_signed_in_patient_at_the_root_goes_to_today(web):
    assert web.get("/")["Location"] == reverse("today")


def test_a_signed_in_clinician_at_the_root_goes_to_the_clinic_list(logged_in, clinician):
    assert logged_in(clinician).get("/")["Location"] == reverse("clinic")


@pytest.mark.django_db
def test_sign_up_keeps_the_name_clinicians_see(client):
    response = client.post(reverse("account_signup"), SIGN_UP)

    assert response.status_code == 302
    user = User.objects.get(email="ana@example.com")
    assert user.get_full_name() == "Ana Lima"
    assert user.role == User.Role.PATIENT


@pytest.mark.django_db
def test_sign_up_without_a_name_says_so_on_the_name_field(client):
    response = client.post(reverse("account_signup"), {**SIGN_UP, "name": "   "})

    assert response.status_code == 200
    assert not User.objects.exists()
    html = response.content.decode()
    name_field = html[html.index('for="id_name"') : html.index('id="id_name"')]
    assert "Enter your name" in name_field


@pytest.mark.django_db
def test_a_weak_password_is_told_under_the_password_field_not_under_email(client):
    response = client.post(reverse("account_signup"), {**SIGN_UP, "password1": "123"})

    html = response.content.decode()
    email_field = html[html.index('for="id_email"') : html.index('for="id_password1"')]
    password_field = html[html.index('for="id_password1"') : html.index('name="password1"')]
    assert "too short" not in email_field
    assert "too short" in password_field


@pytest.mark.django_db
def test_the_verification_email_names_the_product_never_the_host(client, settings):
    settings.SITE_NAME = "Relief Tracker"
    client.post(reverse("account_signup"), SIGN_UP, HTTP_HOST="127.0.0.1")

    [email] = mail.outbox
    assert email.subject.startswith("[Relief Tracker] ")
    assert "Hello from Relief Tracker" in email.body
    assert "127.0.0.1" not in email.subject
    assert "Hello from 127.0.0.1" not in email.body
    assert settings.RELIEF_CONTACT_EMAIL in email.body


@pytest.mark.django_db
def test_after_sign_up_the_page_says_check_your_email_and_offers_to_send_it_again(client):
    response = client.post(reverse("account_signup"), SIGN_UP, follow=True)

    assert response.redirect_chain[-1][0] == reverse("verify_email")
    words = text_of(response)
    assert "Check your email" in words
    assert "Send the email again" in words
    assert 'value="ana@example.com"' in response.content.decode()  # no typing it again
    assert "help@relief-tracker.example" in words


@pytest.mark.django_db
def test_sending_again_sends_a_new_link_once_within_the_limit(client):
    client.post(reverse("account_signup"), SIGN_UP)
    mail.outbox.clear()
    from django.core.cache import cache

    cache.clear()  # allauth counts the first email against the limit

    client.post(reverse("verify_email"), {"email": "ana@example.com"})
    again = client.post(reverse("verify_email"), {"email": "ana@example.com"}, follow=True)

    assert len(mail.outbox) == 1
    # The second time nothing was sent, and the page does not say a new link is coming.
    said = " ".join(str(m) for m in again.context["messages"])
    assert "a new link" not in said and "every 3 minutes at most" in said
    assert "Hello from Relief Tracker" in mail.outbox[0].body


@pytest.mark.django_db
def test_sending_again_for_an_unknown_or_verified_address_sends_nothing_and_says_the_same(client):
    verified = factories.UserFactory(email="known@example.com")
    EmailAddress.objects.create(user=verified, email=verified.email, verified=True, primary=True)

    unknown = client.post(reverse("verify_email"), {"email": "nobody@example.com"}, follow=True)
    known = client.post(reverse("verify_email"), {"email": "known@example.com"}, follow=True)

    assert mail.outbox == []
    said = [str(m) for m in unknown.context["messages"]] + [
        str(m) for m in known.context["messages"]
    ]
    assert said[0].replace("nobody", "known") == said[1]


@pytest.mark.django_db
def test_sending_again_without_an_address_asks_for_it_on_its_field(client):
    response = client.post(reverse("verify_email"), {"email": "not an address"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address" in html[html.index('for="id_email"') :]


def test_the_reminder_email_names_the_product_and_the_contact(patient, settings):
    from tracker.notify import email_for
    from tracker.reminders import Reminder

    settings.SITE_NAME = "Relief Tracker"
    email = email_for(patient, Reminder(title="Relief Tracker: today's check-in", body="Hi"))

    assert "Relief Tracker" in email.subject
    assert settings.RELIEF_CONTACT_EMAIL in email.body


def test_the_reminder_email_names_the_product_from_settings(patient, settings):
    from tracker.notify import compose_reminders, email_for

    settings.SITE_NAME = "Spasm Diary"
    reminder = compose_reminders({patient: patient.today()})[patient.pk]
    email = email_for(patient, reminder)

    assert email.subject == "Spasm Diary: today's check-in"
    assert "Relief Tracker" not in email.subject + email.body


def test_the_patient_adds_a_date_of_birth_and_clinic_number_shown_only_to_their_clinics(
    web, patient
):
    page = web.get(reverse("settings")).content.decode()
    assert "Shown only to the clinics you share with" in page

    response = web.post(
        reverse("identity_settings"),
        {"name": "Pat Jones", "date_of_birth": "1960-03-21", "clinic_number": " NHS  123 "},
    )

    assert response["Location"] == reverse("settings") + "#identity"
    patient.refresh_from_db()
    assert str(patient.date_of_birth) == "1960-03-21"
    assert patient.clinic_number == "NHS 123"
    assert patient.user.get_full_name() == "Pat Jones"


def test_a_date_of_birth_in_the_future_is_refused_on_its_own_field(web, patient, frozen_now):
    response = web.post(
        reverse("identity_settings"), {"name": "Pat", "date_of_birth": "2030-01-01"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    field = html[html.index('for="id_date_of_birth"') : html.index('name="date_of_birth"')]
    assert "Enter your date of birth" in field
    patient.refresh_from_db()
    assert patient.date_of_birth is None


def test_an_empty_name_is_refused_on_the_name_field(web, patient):
    response = web.post(reverse("identity_settings"), {"name": " ", "clinic_number": "7"})

    html = response.content.decode()
    field = html[html.index('for="id_name"') : html.index('name="name"')]
    assert "Enter your name" in field
    patient.refresh_from_db()
    assert patient.clinic_number == ""


def test_neither_a_clinician_nor_another_patient_changes_a_patients_identity(
    logged_in, patient, clinician, other_patient
):
    for user in (clinician, other_patient.user):
        logged_in(user).post(
            reverse("identity_settings"), {"name": "Mallory", "clinic_number": "X"}
        )

    patient.refresh_from_db()
    assert patient.clinic_number == ""
    assert patient.user.get_full_name() != "Mallory"
