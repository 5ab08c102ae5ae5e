"""When the mail server does not answer, an email a page sends (sign-up's verification, a
password reset) fails without a 500: the person is told it was not sent and to try again in
a few minutes, whether or not an account has the address (nothing is told to a stranger),
and what the page saves is saved."""

import re
import socket

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from tests import factories
from tracker.adapters import MAIL_NOT_SENT
from tracker.models import User

SIGN_UP = {"name": "Ana Lima", "email": "ana@example.com", "password1": "a long enough secret"}


def closed_port() -> int:
    """A loopback port nothing listens on: a connection to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mail_down(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def words(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


@pytest.mark.parametrize("known", [True, False])
def test_a_password_reset_says_the_email_was_not_sent_the_same_for_any_address(
    client, db, mail_down, known
):
    if known:
        factories.UserFactory(email="ana@example.com")
    response = client.post(
        reverse("account_reset_password"), {"email": "ana@example.com"}, follow=True
    )
    assert response.status_code == 200
    assert MAIL_NOT_SENT in words(response)


def test_a_sign_up_is_saved_and_says_its_email_was_not_sent(client, db, mail_down):
    response = client.post(reverse("account_signup"), SIGN_UP, follow=True)

    assert response.status_code == 200
    assert MAIL_NOT_SENT in words(response)
    user = User.objects.get(email="ana@example.com")
    assert EmailAddress.objects.filter(user=user, verified=False).exists()
    # Sent again once the mail server answers: the page to do so is where the person is.
    assert response.redirect_chain[-1][0] == reverse("verify_email")


@pytest.mark.parametrize("waiting", [True, False])
def test_send_it_again_answers_the_same_whether_or_not_an_account_waits(
    client, db, mail_down, waiting
):
    if waiting:
        user = factories.UserFactory(email="ana@example.com")
        EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    response = client.post(reverse("verify_email"), {"email": "ana@example.com"}, follow=True)

    assert response.status_code == 200
    assert "a link is on its way" in words(response)
    assert MAIL_NOT_SENT not in words(response)


def test_the_reset_page_says_an_email_was_sent_only_when_it_was(client, db, mail_down, settings):
    factories.UserFactory(email="ana@example.com")
    reset = reverse("account_reset_password")
    down = words(client.post(reset, {"email": "ana@example.com"}, follow=True))
    assert MAIL_NOT_SENT in down and "we have sent it an email" not in down
    assert "Try again" in down

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    sent = words(client.post(reset, {"email": "ana@example.com"}, follow=True))
    assert MAIL_NOT_SENT not in sent and "we have sent it an email" in sent
