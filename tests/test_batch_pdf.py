"""Several patients' one-page summaries printed at once, as one PDF, from the clinic's list:
for a clinician with access to every patient ticked, and no one else."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from tests import factories
from tests.test_report import build_cycles
from tracker import jobs, pdf
from tracker.models import AccessEvent, PrintBatch, User

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


@pytest.mark.parametrize("count", [0, jobs.MAX_BATCH + 1])
def test_nothing_or_too_many_ticked_is_said_on_the_list(count, clinician, logged_in):
    client = logged_in(clinician)
    response = client.post(URL, {"patient": list(range(1, count + 1))}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("clinic")
    assert f"Tick from 1 to {jobs.MAX_BATCH} patients to print." in response.content.decode()


# More than the clinician waits for: made by a job, then offered on a page of its own.


@pytest.fixture
def by_job(monkeypatch, settings):
    """Batches of more than one patient go to the job, which runs once the request is done."""
    pytest.importorskip("weasyprint")
    monkeypatch.setattr(pdf, "BATCH_LIMIT", 1)
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_a_larger_batch_is_made_by_a_job_then_offered_to_download(
    two, clinician, logged_in, by_job
):
    client = logged_in(clinician)
    # The job is queued as the request's transaction commits: never, inside a test's.
    asked = client.post(URL, {"patient": [two[1].pk, two[0].pk]})
    batch = PrintBatch.objects.get()
    assert asked.status_code == 302 and asked.url == reverse("clinic_print_batch", args=[batch.pk])
    waiting = client.get(asked.url).content.decode()
    assert "Preparing 2 summaries" in waiting and 'http-equiv="refresh"' in waiting
    assert client.get(pdf_of(batch)).status_code == 404  # not made yet

    jobs.render_batch_pdf.call(batch.pk)  # as a worker runs it
    ready = client.get(asked.url).content.decode()
    assert "2 summaries ready" in ready and 'http-equiv="refresh"' not in ready
    download = client.get(pdf_of(batch))
    assert download["Content-Type"] == "application/pdf"
    assert "no-store" in download["Cache-Control"]
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(download.content)).pages]
    assert "Ben Bell" in pages[0] and "Ann Ames" in pages[1]  # in the order ticked
    for patient in two:
        looks = AccessEvent.objects.filter(patient=patient, clinician=clinician)
        assert list(looks.values_list("what", flat=True)) == [AccessEvent.What.PDF]


def pdf_of(batch) -> str:
    return reverse("clinic_print_batch_pdf", args=[batch.pk])


@pytest.mark.parametrize("persona", ["stranger_clinician", "other_patient", "owner"])
def test_no_one_else_sees_a_batch_or_its_pdf(request, persona, two, clinician, logged_in, by_job):
    logged_in(clinician).post(URL, {"patient": [p.pk for p in two]})
    batch = PrintBatch.objects.get()
    jobs.render_batch_pdf.call(batch.pk)
    user = two[0].user if persona == "owner" else request.getfixturevalue(persona)
    user = getattr(user, "user", user)  # other_patient is a Patient
    client = logged_in(user)
    for url in (reverse("clinic_print_batch", args=[batch.pk]), pdf_of(batch)):
        response = client.get(url)
        assert response.status_code == 404 and b"Ann" not in response.content, url
    assert client.get(reverse("clinic_print_batch", args=[2**70])).status_code == 404


def test_a_failed_batch_says_why(two, clinician, logged_in, by_job):
    logged_in(clinician).post(URL, {"patient": [p.pk for p in two]})
    batch = PrintBatch.objects.get()
    for patient in two:
        patient.shares.get().revoke()  # before the job ran
    jobs.render_batch_pdf.call(batch.pk)
    page = logged_in(clinician).get(reverse("clinic_print_batch", args=[batch.pk]))
    assert "could not be made" in page.content.decode()
    assert "No patient of the batch shares now" in page.content.decode()


def test_a_patient_that_is_not_a_number_is_a_400(clinician, logged_in):
    response = logged_in(clinician).post(URL, {"patient": ["1; DROP TABLE"]})
    assert response.status_code == 400


def test_render_batch_summaries_refuses_a_patient_not_shared(two, clinician, other_patient):
    assert pdf.render_batch_summaries(clinician, two[:1]).startswith(b"%PDF")
    with pytest.raises(ValueError):
        pdf.render_batch_summaries(clinician, [two[0], other_patient])
    with pytest.raises(ValueError):
        pdf.render_batch_summaries(clinician, [])
