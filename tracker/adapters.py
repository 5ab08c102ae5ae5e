import logging
import smtplib
from dataclasses import dataclass
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from tracker.lockout import client_address
from tracker.models import User

logger = logging.getLogger(__name__)

MAIL_NOT_SENT = (
    "We could not send the email just now: our mail service did not answer. Please try "
    "again in a few minutes."
)
MAIL_NOT_SENT_TAG = "mail-not-sent"  # a page may leave out "we have sent you an email"
# Set on a request whose page answers the same whether or not an email was due (tracker/
# views/account.py, "send it again"): a failure to send would tell a stranger that it was.
QUIET_MAIL_FAILURE = "quiet_mail_failure"

SIGNUP_EMAIL_KEY = "signup_email"  # read by the verification page, tracker/views/account.py
# No account's username or email address is longer (150 and 254 characters).
LONGEST_LOGIN = max(User._meta.get_field(name).max_length for name in ("username", "email"))


@dataclass(frozen=True)
class Product:
    """What allauth's emails call "the site": the product's name and public address, never
    the host a request happened to reach (without django.contrib.sites allauth uses that)."""

    name: str
    domain: str


def product() -> Product:
    return Product(name=settings.SITE_NAME, domain=urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        """allauth's emails (verification, password reset, address change), sent while the
        page waits. A mail server that does not answer is not a 500: what the page saved
        stays saved, and the person is told to try again. With enumeration prevented
        (allauth's default) an unknown address gets an email too, so the message tells a
        stranger nothing about who has an account."""
        context = {
            **context,
            "current_site": product(),
            "contact_email": settings.RELIEF_CONTACT_EMAIL,
            "site_url": settings.SITE_URL,
        }
        try:
            super().send_mail(template_prefix, email, context)
        except (OSError, smtplib.SMTPException) as error:  # refused, timed out, rejected
            logger.error("Email %s not sent: %r", template_prefix, error)  # not the address
            request = getattr(self, "request", None)
            if request is not None and not getattr(request, QUIET_MAIL_FAILURE, False):
                messages.error(request, MAIL_NOT_SENT, extra_tags=MAIL_NOT_SENT_TAG)

    def save_user(self, request, user, form, commit=True):
        # Anyone who signs up is a patient; clinician accounts are made by an administrator.
        user.role = User.Role.PATIENT
        saved = super().save_user(request, user, form, commit=commit)
        request.session[SIGNUP_EMAIL_KEY] = user.email  # for "send it again"
        return saved

    def respond_email_verification_sent(self, request, user):
        # Our page says where the email went and sends it again (tracker/views/account.py).
        return redirect("verify_email")

    def get_client_ip(self, request) -> str:
        # Read as django-axes reads it, behind settings.TRUSTED_PROXY_COUNT proxies.
        address = client_address(request)
        if address is None:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def pre_authenticate(self, request, **credentials) -> None:
        # A longer name is no one's: answered as a wrong password, without looking it up. Looked
        # up, it failed on PostgreSQL past 255 characters (django-axes' column for the name, a
        # 500) and on SQLite past 50,000 (LIKE's limit, a 503).
        typed = credentials.get("username") or credentials.get("email") or ""
        if len(typed) > LONGEST_LOGIN:
            method = "email" if credentials.get("email") else "username"
            raise self.validation_error(f"{method}_password_mismatch")
        # A try django-axes will refuse (tracker/lockout.py) is answered by its lockout page,
        # not by allauth's "Too many failed login attempts" first, and uses up none of
        # allauth's tries for the address.
        if AxesProxyHandler.is_allowed(request, credentials):
            super().pre_authenticate(request, **credentials)

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # allauth counts wrong passwords per typed name, from anywhere: a stranger could keep
        # its owner out. Per name and address instead (tracker/lockout.py counts the rest); its
        # count of second-factor codes per account has its own key and stays as it is.
        key = super()._get_login_attempts_cache_key(request, **credentials)
        return f"{key}@{self.get_client_ip(request)}"
