"""Who may see which patient's data: every rule in one place.

A patient reads and writes their own diary. Clinic staff, with a second factor, read a
patient's diary while the patient shares it with them, or with a clinic where they are a
clinician or a nurse; a clinic's coordinators see its list (names, identifiers, red flags,
contact details) and no diary. Each look is written to the patient's access history, with the
person and their clinic. Anyone else gets 404, so that a record's existence does not leak. Pages
use the decorators; the API and other code call `get_patient_for_user`.
"""

from collections.abc import Callable
from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tracker.lockout import client_address
from tracker.models import AccessEvent, Membership, Patient, Share, User
from tracker.security import require_two_factor

# The largest id a database row can have (a 64-bit integer): a larger one in an address is no
# record, and must not reach a query (SQLite and PostgreSQL refuse it with an error).
LARGEST_ID = 2**63 - 1


def is_id(value: int) -> bool:
    return 0 < value <= LARGEST_ID


def get_patient_for_user(user, patient_id: int | None = None) -> Patient:
    """The one way to fetch a patient's record: answers 404 for anyone without access.

    Without `patient_id` it is the user's own record (a patient using the app).
    """
    if patient_id is None:
        # Everyone sees their own record (visible_to says so). The request's user is read
        # with it (tracker/backends.py): no query, or one for a user read otherwise.
        patient = getattr(user, "patient", None) if user.is_authenticated else None
    else:
        patients = Patient.objects.visible_to(user).filter(pk=patient_id)
        patient = patients.select_related("user").first()
    if patient is None:
        raise Http404("No such patient.")
    return patient


def open_patient_for_clinician(
    clinician, patient_id: int, what: str, path: str, address: str | None = None
) -> Patient:
    """A shared patient's record for a clinician, the access written to the patient's history
    with the address it came from (`client_address(request)`): the one way into a patient's
    data from the clinic side (pages, API, PDF and exports)."""
    if not clinician.is_authenticated or not clinician.is_clinician:
        raise Http404("No such patient.")
    require_two_factor(clinician)
    if not is_id(patient_id):
        raise Http404("No such patient.")
    share = (
        Share.objects.active()
        .readable_by(clinician)
        .filter(patient_id=patient_id)
        .select_related("patient__user")
        .order_by(F("clinic_id").asc(nulls_first=True))  # a share with them alone first
        .first()
    )
    if share is None:
        raise Http404("No such patient.")
    AccessEvent.objects.create(
        patient=share.patient,
        clinician=clinician,
        clinic_id=share.clinic_id,
        what=what,
        path=path[:300],
        address=address,
    )
    return share.patient


def diary_readers(patient: Patient):
    """Everyone who may read this patient's diary now: the clinicians they share with, and the
    clinicians and nurses of the clinics they share with (the ones a red flag must reach)."""
    shares = Share.objects.active().filter(patient=patient)
    members = Membership.objects.reading_diaries().filter(clinic__in=shares.values("clinic"))
    return User.objects.filter(
        Q(pk__in=shares.values("clinician")) | Q(pk__in=members.values("user")),
        role=User.Role.CLINICIAN,
        is_active=True,
    )


def patient_view(view: Callable) -> Callable:
    """A page of the patient's own diary: logged in, onboarded, and given their record."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            patient = get_patient_for_user(request.user)
        except Http404:
            if request.user.is_clinician:
                raise
            return redirect("onboarding")
        return view(request, patient, *args, **kwargs)

    return wrapper


def clinician_view(view: Callable) -> Callable:
    """A page for clinicians only: anyone else gets 404."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_clinician:
            raise Http404
        require_two_factor(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def clinician_patient_view(what: str) -> Callable:
    """A clinic page of one shared patient's data, given their record; 404 without an active
    share. Each request is one row of the patient's access history, as `what`."""

    def decorator(view: Callable) -> Callable:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, patient_id: int, *args, **kwargs) -> HttpResponse:
            try:
                patient = open_patient_for_clinician(
                    request.user, patient_id, what, request.get_full_path(), client_address(request)
                )
            except Http404:
                if not request.user.is_clinician:
                    raise
                return not_shared_page(request, patient_id)
            return view(request, patient, *args, **kwargs)

        return wrapper

    return decorator


def not_shared_page(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A clinic page of a patient the clinician may not read: still 404, in words. To one who
    read the diary through a share that ended (with them, or with a clinic where they read
    diaries) it says when the patient stopped sharing, never who (the name is the patient's
    data too); to anyone else, whatever the id, only that the diary is not shared
    (docs/clinical-rules.md, "A share that ended")."""
    ended = is_id(patient_id) and (
        Share.objects.filter(patient_id=patient_id)
        .readable_by(request.user)
        .exclude(revoked_at=None)
        .select_related("patient", "clinic")
        .order_by("-revoked_at")
        .first()
    )
    context = {"ended": ended}
    return render(request, "tracker/clinic_not_shared.html", context, status=404)


def own_account_view(view):
    """A page about the patient's own account, once they have re-entered their password."""
    after_password = reauthentication_required(view)

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_clinician:
            raise Http404
        return after_password(request, *args, **kwargs)

    return wrapper
