"""A clinic member's Settings (tracker/views/clinic.py `clinic_settings`): how the red-flag
alerts reach them, by email and, once they turn it on, as a notice on their phone; and their
account's links. Their own page: a patient gets 404, anyone logged out the log-in page."""

import re

import pytest
from django.urls import reverse

from tests import factories
from tracker.models import Clinic, Membership
from tracker.templatetags.addresses import breakable

URL = reverse("clinic_settings")
SWITCH = "Notifications on this phone"


@pytest.fixture
def push_keys(settings):
    settings.WEBPUSH_VAPID_PRIVATE_KEY = "private"
    settings.WEBPUSH_VAPID_PUBLIC_KEY = "BPublic-key"
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:clinic@example.com"


def test_the_clinician_is_offered_notifications_of_warning_signs_on_this_phone(
    clinician, logged_in, push_keys
):
    html = logged_in(clinician).get(URL).content.decode()
    assert SWITCH in html
    assert 'data-vapid-key="BPublic-key"' in html
    assert f'data-push-url="{reverse("api:push-subscriptions")}"' in html
    assert 'src="/static/js/push.js"' in html
    assert (
        "A notice on this phone when a patient you follow logs a warning sign; no health details."
        in html
    )
    assert 'data-push-on="On: this phone shows a notice when a patient you follow' in html
    # Without JavaScript the switch would do nothing: it stays hidden until push.js shows it.
    assert re.search(r'<div class="push-settings" data-push [^>]*\bhidden>', html)


def test_without_vapid_keys_there_is_no_switch_and_no_script(clinician, logged_in):
    html = logged_in(clinician).get(URL).content.decode()
    assert SWITCH not in html
    assert "push.js" not in html
    assert "we email you at doc@<wbr>example<wbr>.com" in html


def test_the_page_says_the_alert_email_goes_to_their_address_with_no_health_details(
    clinician, logged_in
):
    html = logged_in(clinician).get(URL).content.decode()
    assert "we email you at doc@<wbr>example<wbr>.com: no health details" in html
    for link in ("mfa_index", "account_email", "account_change_password"):
        assert f'href="{reverse(link)}"' in html


def test_a_clinician_without_an_email_address_is_asked_for_one(db, logged_in):
    clinician = factories.ClinicianFactory(email="")
    html = logged_in(clinician).get(URL).content.decode()
    assert "Add your email address</a> to get these emails." in html


@pytest.mark.parametrize(("role", "told"), [("nurse", False), ("coordinator", True)])
def test_a_coordinator_is_told_they_get_no_alerts_and_a_nurse_is_not(db, logged_in, role, told):
    member = factories.ClinicianFactory()
    Membership.objects.create(clinic=Clinic.objects.create(name="Clinic"), user=member, role=role)
    html = logged_in(member).get(URL).content.decode()
    assert ("you are sent no notice of its patients' warning signs" in html) is told


def test_the_header_settings_link_is_current_on_the_page(clinician, logged_in):
    html = logged_in(clinician).get(URL).content.decode()
    assert f'href="{URL}" aria-current="page">Settings' in html


def test_a_patient_gets_404_and_anonymous_is_sent_to_log_in(patient, logged_in, client):
    assert logged_in(patient.user).get(URL).status_code == 404
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_a_clinician_without_an_authenticator_app_is_sent_to_set_one_up(db, logged_in):
    clinician = factories.ClinicianFactory(two_factor=False)
    response = logged_in(clinician).get(URL)
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_an_address_may_wrap_only_at_its_at_sign_and_dots_and_is_escaped():
    assert breakable("a.jones@royal.nhs.uk") == "a<wbr>.jones@<wbr>royal<wbr>.nhs<wbr>.uk"
    assert breakable('"<b>"@x.org') == "&quot;&lt;b&gt;&quot;@<wbr>x<wbr>.org"
