"""Who may try a password, from where and how often: django-axes' hooks, with our rules.

A stranger who knows someone's user name must not be able to keep them out, and guessing must
stay slow. Wrong passwords are counted three ways:

- one name from one address: 5 pause that name there for 15 minutes, each new try meanwhile
  starting the 15 minutes again (django-axes' own lock, settings.AXES_LOCKOUT_PARAMETERS);
- one address, whatever the names: 50, with less than an hour between each and the next, pause
  that address for an hour;
- one account, from anywhere: from the 10th in a row, a try must wait after the last one
  (1 minute, doubling every 10, up to an hour), and after 100 (NIST SP 800-63B's ceiling) there
  are no more tries until the password is reset.

The last two never stop an account at an address it has logged in from before: its owner still
gets in, however many wrong passwords strangers send from elsewhere. A log-in ends the counts of
its name there and of its account; setting a new password (the way out the lockout page offers)
ends every count of the account. No log-in ends an address's count, so that a guesser cannot
clear it with an account of their own. A name with no account is counted just like one with, so
a pause says nothing about whether it exists.
"""

import datetime as dt
import hashlib
import ipaddress
import math
import time
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

ADDRESS_LIMIT = 50
ADDRESS_WINDOW = 60 * 60  # seconds; also how long an address stays paused
ACCOUNT_FREE_TRIES = 10
ACCOUNT_CEILING = 100
ACCOUNT_FIRST_WAIT = 60  # seconds, doubling every ACCOUNT_STEP failures
ACCOUNT_STEP = 10
ACCOUNT_LONGEST_WAIT = 60 * 60
ACCOUNT_MEMORY = 30 * 24 * 60 * 60  # an account's count is forgotten 30 days after the last
KNOWN_ADDRESS_DAYS = 365  # a log-in from an address makes it the account's for a year


def client_address(request: HttpRequest) -> str | None:
    """The address a request comes from, as django-axes, allauth's rate limits and its record
    of sessions all read it (tracker/adapters.py): REMOTE_ADDR, or behind
    settings.TRUSTED_PROXY_COUNT proxies that each add the address they were reached from to
    X-Forwarded-For, the one the outermost proxy wrote. The addresses left of it are whatever
    the client chose to send, so with no proxies counted (the default) none is read."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
    if proxies > 0 and len(forwarded) >= proxies:
        address = valid_address(forwarded[-proxies])
        if address:
            return address
    return valid_address(request.META.get("REMOTE_ADDR", ""))


def valid_address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]")))
    except ValueError:
        return None


def login_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The name wrong passwords are counted against: the account's username whether its
    username or its email address was typed (in allauth's `login` field, or the admin's
    `username`), else what was typed, so an unknown name is counted just like a known one."""
    credentials = credentials or {}
    typed = (
        request.POST.get("login")
        or credentials.get("username")
        or credentials.get("email")
        or request.POST.get("username")
    )
    if not typed:
        return None
    typed = typed.strip().lower()
    account = (
        get_user_model()
        .objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed))
        .values_list("username", flat=True)
        .first()
    )
    return account.lower() if account else typed


# The rules, as pure functions of a count.


def account_wait(failures: int) -> int | None:
    """Seconds a try on an account waits after its last wrong password, when it has had
    `failures` in a row; None when no try is left until the password is reset."""
    if failures >= ACCOUNT_CEILING:
        return None
    if failures < ACCOUNT_FREE_TRIES:
        return 0
    doublings = (failures - ACCOUNT_FREE_TRIES) // ACCOUNT_STEP
    return min(ACCOUNT_FIRST_WAIT * 2**doublings, ACCOUNT_LONGEST_WAIT)


def address_wait(failures: int) -> int:
    return ADDRESS_WINDOW if failures >= ADDRESS_LIMIT else 0


@dataclass(frozen=True)
class Pause:
    """Why a try is refused (the lockout page says it in words), and for how long: seconds, or
    None until the password is reset."""

    reason: str  # "name_here", "address", "account" or "closed"
    seconds: int | None

    @property
    def minutes(self) -> int | None:
        return None if self.seconds is None else max(1, math.ceil(self.seconds / 60))


# The counts, in the cache the app servers share (settings.CACHES): a number and the time of the
# last failure counted. The number grows by cache.incr, atomic on Redis, so that tries sent at
# once are all counted.


@dataclass(frozen=True)
class Count:
    failures: int
    last: float  # seconds since the epoch


def count_key(kind: str, value: str) -> str:
    return f"lockout:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def read_counts(keys: list[str]) -> list[Count]:
    stored = cache.get_many([f"{key}:n" for key in keys] + [f"{key}:at" for key in keys])
    return [Count(stored.get(f"{key}:n", 0), stored.get(f"{key}:at", 0.0)) for key in keys]


def add_failure(key: str, now: float, keep_for: int) -> None:
    cache.add(f"{key}:n", 0, keep_for)
    try:
        cache.incr(f"{key}:n")
    except ValueError:  # expired between the two lines
        cache.set(f"{key}:n", 1, keep_for)
    cache.touch(f"{key}:n", keep_for)
    cache.set(f"{key}:at", now, keep_for)


def forget_account(username: str) -> None:
    key = count_key("account", username.lower())
    cache.delete_many([f"{key}:n", f"{key}:at"])


def wider_pause(username: str | None, address: str | None, now: float) -> Pause | None:
    """The pause a try for `username` from `address` is under beyond axes' own (per name and
    address): from the address's count or the account's."""
    keys = [count_key("address", address or ""), count_key("account", username or "")]
    by_address, by_account = read_counts(keys)
    pauses = []
    if address and (left := by_address.last + address_wait(by_address.failures) - now) > 0:
        pauses.append(Pause("address", math.ceil(left)))
    if username:
        wait = account_wait(by_account.failures)
        if wait is None:
            pauses.append(Pause("closed", None))
        elif (left := by_account.last + wait - now) > 0:
            pauses.append(Pause("account", math.ceil(left)))
    if not pauses or has_logged_in_from(username, address):
        return None
    return max(pauses, key=lambda pause: math.inf if pause.seconds is None else pause.seconds)


def has_logged_in_from(username: str | None, address: str | None) -> bool:
    """Whether the account has logged in from this address within the year (django-axes keeps
    a row for every log-in)."""
    if not username or not address:
        return False
    since = timezone.now() - dt.timedelta(days=KNOWN_ADDRESS_DAYS)
    return AccessLog.objects.filter(
        username__iexact=username, ip_address=address, attempt_time__gte=since
    ).exists()


class LockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler (its rows of attempts and log-ins), locking by name and
    address as configured, with the address's and the account's counts on top."""

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        # Called before the password is checked; a try refused here is not a guess.
        request.lockout_pause = self.pause(request, credentials)
        return request.lockout_pause is not None

    def pause(self, request: HttpRequest, credentials: dict | None) -> Pause | None:
        if super().is_locked(request, credentials):
            return Pause("name_here", int(get_cool_off(request).total_seconds()))
        username = get_client_username(request, credentials)
        return wider_pause(username, request.axes_ip_address, time.time())

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or self.is_whitelisted(request, credentials):
            return
        if getattr(request, "lockout_pause", None) is None:  # the password was tried, and wrong
            username = get_client_username(request, credentials)
            now = time.time()
            if request.axes_ip_address:
                add_failure(count_key("address", request.axes_ip_address), now, ADDRESS_WINDOW)
            if username:
                add_failure(count_key("account", username), now, ACCOUNT_MEMORY)
        pause = self.pause(request, credentials)
        if pause is not None:  # the next try would be refused: say so now
            request.lockout_pause = pause
            request.axes_locked_out = True
            request.axes_credentials = credentials

    def user_logged_in(self, sender, request, user, **kwargs) -> None:
        super().user_logged_in(sender, request, user, **kwargs)
        forget_account(user.get_username())


def forget_failures(user) -> None:
    """Every count of the account, after its password was reset by email."""
    from axes.handlers.proxy import AxesProxyHandler

    username = user.get_username().lower()
    AxesProxyHandler.reset_attempts(username=username)
    forget_account(username)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """django-axes' answer to a refused log-in: a page of the app saying why and for how long,
    the same whether or not the account exists (it names no one), 429 with Retry-After."""
    pause = getattr(request, "lockout_pause", None) or Pause(
        "name_here", int(get_cool_off(request).total_seconds())
    )
    context = {
        "pause": pause,
        "failure_limit": get_failure_limit(request, credentials),
        "address_limit": ADDRESS_LIMIT,
        "ceiling": ACCOUNT_CEILING,
    }
    response = render(request, "account/lockout.html", context, status=429)
    if pause.minutes is not None:
        response["Retry-After"] = str(pause.minutes * 60)
    return response
