from allauth.account.adapter import DefaultAccountAdapter

from tracker.models import User


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # Anyone who signs up is a patient; clinician accounts are made by an administrator.
        user.role = User.Role.PATIENT
        return super().save_user(request, user, form, commit=commit)
