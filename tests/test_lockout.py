"""Failed log-ins (tracker/lockout.py): a stranger's wrong passwords never keep an account's owner
out of a connection they have logged in from; one name at one address, one address, and one
account each have their limit; setting a new password is the way out; and which address a
request comes from follows DJANGO_TRUSTED_PROXY_COUNT."""

import datetime as dt
import re

import pytest
from allauth.usersessions.models import UserSession
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from tests import factories
from tests.test_security import verified
from tracker import lockout
from tracker.adapters import AccountAdapter

PASSWORD = "correct horse battery"  # tests/factories.py
HOME = "192.0.2.10"  # where the owner has logged in before
ELSEWHERE = "198.51.100.7"
BALANCER = "10.0.0.2"  # the load balancer, as REMOTE_ADDR behind it


def log_in(login: str, password: str, address: str = HOME, client=None, **headers):
    client = client or Client()
    form = {"login": login, "password": password}
    return client.post(reverse("account_login"), form, REMOTE_ADDR=address, **headers)


def far_away(n: int) -> str:
    """A stranger's n-th address, each a new one."""
    return f"10.{n // 250}.{n % 250}.9"


@pytest.fixture
def owner(patient, frozen_now):
    """`pat`, who has logged in from HOME before."""
    verified(patient.user)
    assert log_in("pat", PASSWORD, HOME).status_code == 302
    return patient.user


def strangers_guess(frozen_now, times: int, login: str = "pat") -> list[int]:
    """Wrong passwords from a new address each time, each after the longest wait, so that
    every one is tried: the answers' status codes."""
    answers = []
    for n in range(times):
        frozen_now.shift(dt.timedelta(minutes=61))
        answers.append(log_in(login, f"guess {n}", far_away(n)).status_code)
    return answers


def test_the_owner_logs_in_from_home_after_any_number_of_a_strangers_failures(owner, frozen_now):
    answers = strangers_guess(frozen_now, 150)
    assert answers[:9] == [200] * 9  # then each try waits, then none is left
    assert set(answers[9:]) == {429}
    closed = log_in("pat", PASSWORD, far_away(999))  # even with the password, from elsewhere
    assert closed.status_code == 429
    assert "Set a new password to log in" in closed.content.decode()
    assert "Retry-After" not in closed
    response = log_in("pat", PASSWORD, HOME)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_after_100_wrong_passwords_no_guess_is_tried(owner, frozen_now, monkeypatch):
    strangers_guess(frozen_now, 100)
    checked = []
    monkeypatch.setattr(
        "django.contrib.auth.backends.ModelBackend.user_can_authenticate",
        lambda backend, user: checked.append(user) or True,
    )
    assert strangers_guess(frozen_now, 20) == [429] * 20
    assert checked == []  # refused before the password was looked at


def test_setting_a_new_password_is_the_way_out(owner, frozen_now):
    strangers_guess(frozen_now, 100)
    client = Client()
    client.post(reverse("account_reset_password"), {"email": owner.email}, REMOTE_ADDR=ELSEWHERE)
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    form = client.get(link[1], REMOTE_ADDR=ELSEWHERE)
    new = {"password1": "a brand new passphrase", "password2": "a brand new passphrase"}
    done = client.post(form["Location"], new, REMOTE_ADDR=ELSEWHERE)
    assert done.status_code == 302
    assert log_in("pat", "a brand new passphrase", ELSEWHERE).status_code == 302


# One name at one address: 5 wrong passwords pause it there for 15 minutes.


def test_five_wrong_passwords_pause_the_name_at_that_address_for_fifteen_minutes(owner, frozen_now):
    answers = [log_in("pat", "wrong", ELSEWHERE) for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 429]
    locked = answers[-1]
    assert locked["Retry-After"] == "900"
    page = locked.content.decode()
    assert "Log-in paused for 15 minutes" in page
    assert "from this internet connection" in page
    assert '<main id="main"' in page  # a page of the app
    # The right password does not help there while paused, and each try restarts the pause.
    frozen_now.shift(dt.timedelta(minutes=10))
    assert log_in("pat", PASSWORD, ELSEWHERE).status_code == 429
    frozen_now.shift(dt.timedelta(minutes=14))
    assert log_in("pat", PASSWORD, ELSEWHERE).status_code == 429
    frozen_now.shift(dt.timedelta(minutes=15, seconds=1))
    response = log_in("pat", PASSWORD, ELSEWHERE)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


def test_a_strangers_pause_is_theirs_alone(owner, other_patient, frozen_now):
    verified(other_patient.user)
    for _ in range(5):
        log_in("pat", "wrong", ELSEWHERE)
    assert log_in("PAT ", PASSWORD, ELSEWHERE).status_code == 429
    assert log_in(owner.email.upper(), PASSWORD, ELSEWHERE).status_code == 429  # same account
    # Within the same minutes: the owner at home, another account at the stranger's address.
    assert log_in("pat", PASSWORD, HOME).status_code == 302
    assert log_in("other", PASSWORD, ELSEWHERE).status_code == 302


def test_a_pause_answers_the_same_whether_or_not_the_account_exists(owner, frozen_now):
    known = [log_in("pat", "wrong", ELSEWHERE) for _ in range(5)]
    unknown = [log_in("nobody-here", "wrong", ELSEWHERE) for _ in range(5)]
    for mine, theirs in zip(known[:4], unknown[:4], strict=True):
        assert mine.status_code == theirs.status_code == 200
        assert without_tokens(mine, "pat") == without_tokens(theirs, "nobody-here")
    assert known[4].status_code == unknown[4].status_code == 429
    assert known[4].content == unknown[4].content
    assert known[4]["Retry-After"] == unknown[4]["Retry-After"]
    assert log_in("nobody-here", "anything", ELSEWHERE).status_code == 429


@pytest.mark.parametrize(
    ("login", "unknown"),
    [
        ("x" * 256, "nobody-here"),
        ("x" * 100_000, "nobody-here"),
        ("x" * 100_000 + "@example.org", "nobody-here"),  # no email address: a name
        ("a@" + ".".join(["b" * 60] * 5) + ".org", "nobody@example.org"),  # 310 characters
    ],
)
def test_a_login_longer_than_any_accounts_is_a_wrong_password(owner, frozen_now, login, unknown):
    """No account's name or address is longer than 254 characters. Looked up, a longer one
    failed on PostgreSQL past 255 (django-axes' column for the name: a 500) and on SQLite
    past 50,000 (LIKE's limit: a 503, as if the database were gone)."""
    response = log_in(login, "wrong", ELSEWHERE)
    assert response.status_code == 200
    errors = response.context["form"].non_field_errors()
    assert errors == log_in(unknown, "wrong", ELSEWHERE).context["form"].non_field_errors()
    names = AccessAttempt.objects.values_list("username", flat=True)
    assert all(len(name) <= 255 for name in names)


def without_tokens(response, login: str) -> str:
    page = response.content.decode()
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)
    return page.replace(f'value="{login}"', "")


def test_a_good_log_in_clears_earlier_failures(owner, frozen_now):
    for _ in range(4):
        log_in("pat", "wrong", ELSEWHERE)
    assert log_in("pat", PASSWORD, ELSEWHERE).status_code == 302
    for _ in range(4):
        assert log_in("pat", "wrong", ELSEWHERE).status_code == 200


# One account, from anywhere: growing waits from the 10th wrong password, none left at 100.


@pytest.mark.parametrize(
    ("failures", "wait"),
    [
        (0, 0),
        (9, 0),
        (10, 60),  # a minute
        (19, 60),
        (20, 120),
        (30, 240),
        (60, 1920),
        (69, 1920),
        (70, 3600),  # never more than an hour
        (99, 3600),
        (100, None),  # until the password is reset
        (5000, None),
    ],
)
def test_an_accounts_wait_grows_with_its_wrong_passwords(failures, wait):
    assert lockout.account_wait(failures) == wait


def test_from_the_tenth_wrong_password_the_next_try_waits(patient, frozen_now):
    verified(patient.user)
    answers = [log_in("pat", "wrong", far_away(n)) for n in range(10)]
    assert [a.status_code for a in answers] == [200] * 9 + [429]
    assert answers[-1]["Retry-After"] == "60"
    assert "the next try has to wait 1 minute" in answers[-1].content.decode()
    assert log_in("pat", PASSWORD, far_away(10)).status_code == 429
    frozen_now.shift(dt.timedelta(seconds=61))
    assert log_in("pat", PASSWORD, far_away(11)).status_code == 302


# One address, whatever the names: 50 wrong passwords pause it for an hour.


def test_fifty_wrong_passwords_from_one_address_pause_it_for_an_hour(
    owner, other_patient, frozen_now
):
    verified(other_patient.user)
    answers = []
    for n in range(50):
        frozen_now.shift(dt.timedelta(seconds=7))  # under allauth's 10 a minute per address
        answers.append(log_in(f"someone-{n}", "wrong", ELSEWHERE))
    assert [a.status_code for a in answers[:49]] == [200] * 49
    paused = answers[-1]
    assert paused.status_code == 429
    assert paused["Retry-After"] == "3600"
    assert "Many wrong passwords have come from this internet connection" in paused.content.decode()
    assert log_in("other", PASSWORD, ELSEWHERE).status_code == 429
    assert log_in("other", PASSWORD, HOME).status_code == 302  # another address is not paused
    frozen_now.shift(dt.timedelta(hours=1, seconds=1))
    assert log_in("other", PASSWORD, ELSEWHERE).status_code == 302


def test_an_address_paused_by_others_still_lets_in_who_has_logged_in_there(owner, frozen_now):
    for n in range(50):  # from the owner's own address (a family's, a clinic's)
        frozen_now.shift(dt.timedelta(seconds=7))
        log_in(f"someone-{n}", "wrong", HOME)
    assert log_in("someone-new", PASSWORD, HOME).status_code == 429
    assert log_in("pat", PASSWORD, HOME).status_code == 302


# allauth's own limit on second-factor codes per account stays.


def test_after_five_wrong_codes_not_even_the_right_one_is_taken(clinician, frozen_now):
    verified(clinician)
    client = Client()
    response = log_in("doc", PASSWORD, ELSEWHERE, client=client)
    assert response["Location"] == reverse("mfa_authenticate")
    wrong = "000000" if factories.totp_code() != "000000" else "111111"
    for _ in range(5):
        response = client.post(reverse("mfa_authenticate"), {"code": wrong}, REMOTE_ADDR=ELSEWHERE)
        assert "Incorrect code" in response.content.decode()
    right = {"code": factories.totp_code()}
    response = client.post(reverse("mfa_authenticate"), right, REMOTE_ADDR=ELSEWHERE)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


# Which address a request comes from: DJANGO_TRUSTED_PROXY_COUNT, 0 unless set.


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "address"),
    [
        (0, None, BALANCER),
        (0, "203.0.113.5", BALANCER),  # anyone can write the header: not read
        (1, None, BALANCER),  # not through the balancer
        (1, "203.0.113.5", "203.0.113.5"),
        (1, "6.6.6.6, 203.0.113.5", "203.0.113.5"),  # the client's own words, then the balancer's
        (2, "6.6.6.6, 203.0.113.5, 10.0.0.9", "203.0.113.5"),
        (2, "203.0.113.5", BALANCER),  # fewer than the proxies counted: not read
        (1, "6.6.6.6, not-an-address", BALANCER),
        (1, "6.6.6.6, [2001:db8::1]", "2001:db8::1"),
    ],
)
def test_the_clients_address_is_read_behind_the_proxies_counted(
    settings, proxies, forwarded_for, address
):
    settings.TRUSTED_PROXY_COUNT = proxies
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    request = RequestFactory().get("/", REMOTE_ADDR=BALANCER, **headers)
    assert lockout.client_address(request) == address
    assert AccountAdapter(request).get_client_ip(request) == address  # allauth reads the same


def test_without_proxies_counted_a_forged_forwarded_for_changes_nothing(owner, frozen_now):
    answers = [
        log_in("pat", "wrong", BALANCER, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}") for n in range(5)
    ]
    assert answers[-1].status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {BALANCER}


def test_behind_one_proxy_the_address_it_saw_is_the_clients(owner, settings, frozen_now):
    settings.TRUSTED_PROXY_COUNT = 1
    for _ in range(5):
        log_in("pat", "wrong", BALANCER, HTTP_X_FORWARDED_FOR=f"{HOME}, {ELSEWHERE}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ELSEWHERE}
    # The stranger is paused; the owner, through the same balancer, is not.
    assert log_in("pat", PASSWORD, BALANCER, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code == 429
    forged = f"{ELSEWHERE}, 192.0.2.99"  # the first address is the client's own words
    assert log_in("pat", PASSWORD, BALANCER, HTTP_X_FORWARDED_FOR=forged).status_code == 302
    assert UserSession.objects.filter(user=owner).order_by("pk").last().ip == "192.0.2.99"
