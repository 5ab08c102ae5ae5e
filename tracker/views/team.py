"""A clinic's team: the members page (who is in the clinic, in which role; its admins invite by
email and remove), and the link of a member's invitation, which lets a new colleague create an
account or an existing one join. Removing a member cuts their access at once: every access
rule reads only members not removed (tracker/access.py)."""

import zoneinfo

from allauth.account.models import EmailAddress
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tasks import task

from tracker.access import clinician_view, is_id
from tracker.account_forms import clean_phone_number
from tracker.forms import ButtonRadioSelect
from tracker.models import Clinic, MemberInvitation, MemberInvitationUnusable, Membership, User


class InviteMemberForm(forms.Form):
    email = forms.EmailField(label="Their work email", max_length=254)
    role = forms.ChoiceField(
        label="Their role",
        choices=Membership.Role.choices,
        widget=ButtonRadioSelect(columns=1),
        help_text="Clinicians and nurses see every diary shared with the clinic; coordinators "
        "see the list of patients, their details and warning signs, not their diaries.",
    )


class ClinicForm(forms.ModelForm):
    """What patients see of the clinic: its name, and the phone on their urgent card."""

    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=sorted((zone, zone.replace("_", " ")) for zone in zoneinfo.available_timezones()),
    )

    class Meta:
        model = Clinic
        fields = ["name", "phone", "address", "time_zone"]
        labels = {"name": "Clinic name", "phone": "Phone, on patients' urgent card"}
        widgets = {"phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"})}

    def clean_phone(self) -> str:
        return clean_phone_number(self.cleaned_data["phone"])


class NewMemberForm(forms.Form):
    """A new colleague's account, made from the invitation that reached their email."""

    name = forms.CharField(label="Your name, as patients and colleagues see it", max_length=150)
    username = forms.CharField(label="Username, to log in", max_length=150)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        User.username_validator(username)
        if User.objects.filter(username__iexact=username).exists():
            raise ValidationError("This username is taken: choose another.")
        return username

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        validate_password(password)
        return password


@task()
def send_member_invitation(invitation_id: int) -> bool:
    """The invitation's email: who invited them, to which clinic, in which role, and the link.
    Nothing about any patient."""
    invitation = MemberInvitation.objects.select_related("clinic", "invited_by").get(
        pk=invitation_id
    )
    if not invitation.is_open:
        return False
    inviter = invitation.invited_by.get_full_name() if invitation.invited_by else "A colleague"
    link = settings.SITE_URL + reverse("team_join", args=[invitation.token])
    body = (
        f"{inviter} invited you to join {invitation.clinic} on {settings.SITE_NAME}, "
        f"as a {invitation.get_role_display().lower()}.\n\n"
        f"Open this link to join (it works once, until "
        f"{invitation.expires_at:%d %B %Y}):\n{link}\n\n"
        "If you did not expect this email, ignore it: nothing happens without the link.\n\n"
        f"{settings.SITE_NAME}. Questions? Write to {settings.RELIEF_CONTACT_EMAIL}.\n"
    )
    subject = f"{settings.SITE_NAME}: join {invitation.clinic}"
    mail.EmailMessage(subject, body, to=[invitation.email]).send()
    return True


def admin_membership(user, clinic_id: int) -> Membership:
    """The user's membership as an admin of this clinic: 404 for anyone else."""
    if not is_id(clinic_id):
        raise Http404("No such clinic.")
    return get_object_or_404(
        Membership.objects.active().select_related("clinic"),
        user=user,
        clinic_id=clinic_id,
        is_admin=True,
    )


@clinician_view
def team(request: HttpRequest) -> HttpResponse:
    """The clinics the user belongs to, with their members; an admin's invite form."""
    if request.method == "POST":
        return invite(request)
    return render_team(request)


def render_team(
    request: HttpRequest, invite_form=None, details_form=None, status: int = 200
) -> HttpResponse:
    memberships = request.user.memberships.active().select_related("clinic").order_by("pk")
    clinics = [
        {
            "membership": membership,
            "clinic": membership.clinic,
            "members": membership.clinic.active_members().order_by("pk"),
            "invitations": membership.clinic.invitations.usable().order_by("-created_at")
            if membership.is_admin
            else [],
            "form": (
                invite_form
                if invite_form is not None and invite_form.clinic_id == membership.clinic_id
                else InviteMemberForm()
            ),
            "details": (
                details_form
                if details_form is not None and details_form.instance.pk == membership.clinic_id
                else ClinicForm(instance=membership.clinic)
            ),
        }
        for membership in memberships
    ]
    return render(request, "tracker/team.html", {"clinics": clinics}, status=status)


def invite(request: HttpRequest) -> HttpResponse:
    try:
        membership = admin_membership(request.user, int(request.POST.get("clinic", "")))
    except ValueError:
        raise Http404("No such clinic.") from None
    form = InviteMemberForm(request.POST)
    form.clinic_id = membership.clinic_id
    if not form.is_valid():
        return render_team(request, invite_form=form, status=400)
    email = form.cleaned_data["email"]
    if membership.clinic.active_members().filter(user__email__iexact=email).exists():
        form.add_error("email", "Someone with this email is a member already.")
        return render_team(request, invite_form=form, status=400)
    invitation = MemberInvitation.issue(
        membership.clinic, email, form.cleaned_data["role"], request.user
    )
    transaction.on_commit(lambda: send_member_invitation.enqueue(invitation.pk))
    messages.success(request, f"Invitation sent to {email}. It works once, for 7 days.")
    return redirect("team")


@require_POST
@clinician_view
def clinic_details(request: HttpRequest, pk: int) -> HttpResponse:
    """An admin changes the clinic's name, phone, address line or time zone."""
    membership = admin_membership(request.user, pk)
    form = ClinicForm(request.POST, instance=membership.clinic)
    if not form.is_valid():
        return render_team(request, details_form=form, status=400)
    form.save()
    messages.success(request, f"Saved the details of {form.instance.name}.")
    return redirect("team")


@clinician_view
def member_remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask, then remove a member: their access to the clinic's patients ends at once."""
    member = get_object_or_404(Membership.objects.active().select_related("user", "clinic"), pk=pk)
    admin_membership(request.user, member.clinic_id)
    admins = member.clinic.active_members().filter(is_admin=True)
    if member.is_admin and admins.count() == 1:
        messages.error(request, "A clinic needs an admin: make someone else an admin first.")
        return redirect("team")
    if request.method == "POST":
        member.remove()
        name = member.user.get_full_name() or member.user.username
        messages.success(request, f"{name} is no longer a member of {member.clinic}.")
        return redirect("team")
    return render(request, "tracker/team_remove.html", {"member": member})


@require_POST
@clinician_view
def invitation_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(MemberInvitation.objects.usable(), pk=pk)
    admin_membership(request.user, invitation.clinic_id)
    MemberInvitation.objects.filter(pk=invitation.pk).update(withdrawn_at=timezone.now())
    messages.success(request, f"The invitation to {invitation.email} no longer works.")
    return redirect("team")


def join(request: HttpRequest, token: str) -> HttpResponse:
    """The link of a member's invitation. Unknown, used, withdrawn and expired links get the same
    answer. A new colleague makes their account here; one with an account logs in first."""
    invitation = MemberInvitation.objects.select_related("clinic").filter(token=token).first()
    if invitation is None or not invitation.is_open:
        return render(request, "tracker/team_join_invalid.html", status=404)
    user = request.user
    if user.is_authenticated and not user.is_clinician:
        context = {"invitation": invitation, "patient_account": True}
        return render(request, "tracker/team_join.html", context, status=403)
    form = None
    if request.method == "POST":
        if not user.is_authenticated:
            form = NewMemberForm(request.POST)
            if not form.is_valid():
                context = {"invitation": invitation, "form": form}
                return render(request, "tracker/team_join.html", context, status=400)
            user = new_member_account(invitation, form.cleaned_data)
        try:
            invitation.accept(user)
        except MemberInvitationUnusable:
            return render(request, "tracker/team_join_invalid.html", status=404)
        if not request.user.is_authenticated:
            login(request, user, backend="tracker.backends.AccountBackend")
        messages.success(request, f"You are now a member of {invitation.clinic}.")
        return redirect("team")
    context = {"invitation": invitation, "form": form or NewMemberForm()}
    return render(request, "tracker/team_join.html", context)


@transaction.atomic
def new_member_account(invitation: MemberInvitation, data: dict) -> User:
    """A clinic-side account with the invited email, verified: the link reached that inbox."""
    first, _, last = data["name"].strip().partition(" ")
    user = User.objects.create_user(
        username=data["username"],
        email=invitation.email,
        password=data["password"],
        role=User.Role.CLINICIAN,
        first_name=first,
        last_name=last,
    )
    EmailAddress.objects.create(user=user, email=invitation.email, verified=True, primary=True)
    return user
