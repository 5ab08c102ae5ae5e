"""How a person logs in, and how the logged-in person is read on each request."""

from allauth.account.auth_backends import AuthenticationBackend

from tracker.models import User


class AccountBackend(AuthenticationBackend):
    """allauth's log-in, by username or email, and on each request the person's user row with
    their own patient record joined in the same query.

    Every page of a patient's own reads that record (access.get_patient_for_user); as a
    query of its own it was a fifth of a warm Relief page. A clinician has none: the join
    finds nothing and costs next to nothing.
    """

    def get_user(self, user_id):
        try:  # get(), not first(): no ORDER BY nor LIMIT to build, a fifth quicker
            user = User._default_manager.select_related("patient").get(pk=user_id)
        except User.DoesNotExist:  # a session of a deleted account
            return None
        return user if self.user_can_authenticate(user) else None
