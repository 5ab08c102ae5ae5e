"""Who may see which patient's data: every rule in one place.

A patient reads and writes their own diary; a clinician reads a patient's diary while the
patient shares it, with a second factor, and each look is written to the patient's access
history. Anyone else gets 404, so that a record's existence does not leak. Pages use the
decorators; the API and other code call `get_patient_for_user`.
"""

from collections.abc import Callable
from functools import wraps

from allauth.account.decorators import reauthentication_required
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from tracker.lockout import client_address
from tracker.models import AccessEvent, Patient
from tracker.security import require_two_factor


def get_patient_for_user(user, patient_id: int | None = None) -> Patient:
    """The one way to fetch a patient's record: answers 404 for anyone without access.

    Without `patient_id` it is the user's own record (a patient using the app).
    """
    patients = Patient.objects.visible_to(user)
    if patient_id is None:
        patients = patients.filter(user=user)
    else:
        patients = patients.filter(pk=patient_id)
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
    patient = get_patient_for_user(clinician, patient_id)
    AccessEvent.objects.create(
        patient=patient, clinician=clinician, what=what, path=path[:300], address=address
    )
    return patient


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
            patient = open_patient_for_clinician(
                request.user, patient_id, what, request.get_full_path(), client_address(request)
            )
            return view(request, patient, *args, **kwargs)

        return wrapper

    return decorator


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
