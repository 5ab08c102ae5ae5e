"""Several patients' one-page summaries printed at once, as one PDF, from the clinic's list:
for a clinician with access to every patient ticked, and no one else."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests import factories
from tests.test_report import build_cycles
from tracker import pdf
from tracker.models import AccessEvent, User

pytestmark = pytest.mark.usefixtures("frozen_now")

URL = reverse("clinic_summaries_pdf")


@pytest.fixture
def two(patient, clinician):
    """`patient` (Ann Ames) and a second patient (Ben Bell), both sharing with `clinician`."""
    User.objects.filter(pk=patient.user.pk).update(first_name="Ann", last_name="Ames")
    patient.refresh_from_db()
    second = factories.PatientFactory(user__first_name="Ben", user__last_name="Bell")
    factories.ShareFactory(patient=second, clinician=clinician)
    build_cycles(patient, 2)
    build_cycles(second, 2)
    return [patient, second]


def pages_of(response) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages]


def test_the_clinician_gets_each_summary_on_its_own_page_in_one_pdf(two, clinician, logged_in):
    response = logged_in(clinician).post(URL, {"patient": [two[1].pk, two[0].pk]})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "summaries" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    pages = pages_of(response)
    assert len(pages) == 2
    assert "Pre-visit summary: Ben Bell" in pages[0]  # in the order ticked
    assert "Pre-visit summary: Ann Ames" in pages[1]


def test_each_patient_printed_is_one_look_in_their_access_history(two, clinician, logged_in):
    logged_in(clinician).post(URL, {"patient": [p.pk for p in two]})
    for patient in two:
        looks = AccessEvent.objects.filter(patient=patient, clinician=clinician)
        assert list(looks.values_list("what", flat=True)) == [AccessEvent.What.PDF]


def test_a_strangers_patient_in_the_batch_makes_it_404_and_prints_nothing(
    two, clinician, other_patient, logged_in
):
    response = logged_in(clinician).post(URL, {"patient": [two[0].pk, other_patient.pk]})
    assert response.status_code == 404
    assert not response.content.startswith(b"%PDF")
    assert not AccessEvent.objects.exists()  # no look at anyone


@pytest.mark.parametrize("persona", ["stranger_clinician", "other_patient", "owner"])
def test_no_one_else_prints_the_patients_summary(request, persona, two, logged_in):
    user = two[0].user if persona == "owner" else request.getfixturevalue(persona)
    user = getattr(user, "user", user)  # other_patient is a Patient
    response = logged_in(user).post(URL, {"patient": [two[0].pk]})
    assert response.status_code == 404
    assert b"Ann" not in response.content


def test_a_revoked_share_leaves_the_patient_out_of_reach(two, clinician, logged_in):
    two[0].shares.get(clinician=clinician).revoke()
    response = logged_in(clinician).post(URL, {"patient": [two[0].pk, two[1].pk]})
    assert response.status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(client, two):
    response = client.post(URL, {"patient": [two[0].pk]})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_it_is_a_post_not_a_link(two, clinician, logged_in):
    assert logged_in(clinician).get(URL, {"patient": two[0].pk}).status_code == 405


@pytest.mark.parametrize("count", [0, pdf.BATCH_LIMIT + 1])
def test_nothing_or_too_many_ticked_is_said_on_the_list(count, clinician, logged_in):
    client = logged_in(clinician)
    response = client.post(URL, {"patient": list(range(1, count + 1))}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("clinic")
    assert f"Tick from 1 to {pdf.BATCH_LIMIT} patients to print." in response.content.decode()


def test_a_patient_that_is_not_a_number_is_a_400(clinician, logged_in):
    response = logged_in(clinician).post(URL, {"patient": ["1; DROP TABLE"]})
    assert response.status_code == 400


def test_render_batch_summaries_refuses_a_patient_not_shared(two, clinician, other_patient):
    assert pdf.render_batch_summaries(clinician, two[:1]).startswith(b"%PDF")
    with pytest.raises(ValueError):
        pdf.render_batch_summaries(clinician, [two[0], other_patient])
    with pytest.raises(ValueError):
        pdf.render_batch_summaries(clinician, [])
