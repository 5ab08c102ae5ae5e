from allauth.account.adapter import DefaultAccountAdapter
from axes.handlers.proxy import AxesProxyHandler
from django.core.exceptions import PermissionDenied

from tracker.lockout import client_address
from tracker.models import User


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # Anyone who signs up is a patient; clinician accounts are made by an administrator.
        user.role = User.Role.PATIENT
        return super().save_user(request, user, form, commit=commit)

    def get_client_ip(self, request) -> str:
        # Read as django-axes reads it, behind settings.TRUSTED_PROXY_COUNT proxies.
        address = client_address(request)
        if address is None:
            raise PermissionDenied("Unable to determine client IP address")
        return address

    def pre_authenticate(self, request, **credentials) -> None:
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
