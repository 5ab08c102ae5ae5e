import getpass
import sys

from allauth.account.models import EmailAddress
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.db import transaction

from tracker.models import User


def ask_for_password() -> str:
    if not sys.stdin.isatty():
        raise CommandError("No --password given and no terminal to ask for one.")
    try:
        password = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except (EOFError, KeyboardInterrupt) as exc:
        raise CommandError("No password given.") from exc
    if password != again:
        raise CommandError("The two passwords differ.")
    return password


@transaction.atomic
def create_clinician(
    username: str, email: str, password: str, first_name: str, last_name: str
) -> User:
    user = User.objects.create_user(
        username=username,
        email=email,
        password=password,
        first_name=first_name,
        last_name=last_name,
        role=User.Role.CLINICIAN,
    )
    # Made by an administrator who knows the address, so it counts as verified: the
    # clinician can log in at once although email verification is mandatory.
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


class Command(BaseCommand):
    help = (
        "Create a clinician account with a verified email address, ready to log in. "
        "Asks for the password twice unless --password is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password", help="Otherwise asked for; note that it stays in the shell history."
        )

    def handle(
        self,
        *args,
        username: str,
        email: str,
        first_name: str,
        last_name: str,
        password: str | None,
        **options,
    ) -> None:
        try:
            User._meta.get_field("username").run_validators(username)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise CommandError(f"“{email}” is not an email address.") from exc
        if User.objects.filter(username__iexact=username).exists():
            raise CommandError(f"There is already a user called “{username}”.")
        if (
            User.objects.filter(email__iexact=email).exists()
            or EmailAddress.objects.filter(email__iexact=email).exists()
        ):
            raise CommandError(f"{email} already belongs to another account.")

        if password is None:
            password = ask_for_password()
        candidate = User(username=username, email=email, first_name=first_name, last_name=last_name)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

        user = create_clinician(username, email, password, first_name, last_name)
        self.stdout.write(
            f"Clinician {user.username} ({user.get_full_name() or 'no name'}, {email}) "
            "created with a verified email; they can log in now."
        )
