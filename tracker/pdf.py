"""Making a page into a PDF with WeasyPrint, from our own static files only; and several
patients' one-page summaries as one PDF (`render_batch_summaries`)."""

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import render_to_string

# When long notes or many muscles would still need a second page, the PDF is made again in
# smaller print: one page is the point of the summary.
COMPACT_PRINT = (
    "html { font-size: 7pt !important; } .summary .chart-svg { max-width: 80% !important; }"
)


class Unavailable(Exception):
    """WeasyPrint (or the Pango it needs) is not installed on this server."""


BATCH_LIMIT = 20  # summaries made while the clinician waits; more go to a background job


def _weasyprint():
    try:
        # Imported here: it needs Pango and friends, which the rest of the app does without.
        import weasyprint
    except (ImportError, OSError) as error:
        raise Unavailable from error
    return weasyprint


def one_page_document(html: str, base_url: str):
    """The page laid out by WeasyPrint, in smaller print when it would not fit on one page."""
    weasyprint = _weasyprint()
    page = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=static_files_fetcher())
    document = page.render()
    if len(document.pages) > 1:
        document = page.render(stylesheets=[weasyprint.CSS(string=COMPACT_PRINT)])
    return document


def one_page_pdf(html: str, base_url: str) -> bytes:
    """The page as a PDF, in smaller print when it would not fit on one page."""
    return one_page_document(html, base_url).write_pdf()


def render_batch_summaries(clinician, patients, base_url: str = "http://localhost/") -> bytes:
    """The one-page summaries of `patients`, in the order given, as one PDF: what the clinic's
    "Print summaries" makes while the clinician waits (up to BATCH_LIMIT), and what a
    background job may call for more. The caller opens each patient through
    tracker.access.open_patient_for_clinician, which answers 404 for a patient who does not
    share with `clinician` and writes each look to the patient's access history; this checks
    it again and refuses the batch (ValueError) rather than print another clinic's patient."""
    from tracker.models import Patient
    from tracker.views.clinic import summary_context  # the views import this module

    patients = list(patients)
    readable = set(
        Patient.objects.visible_to(clinician)
        .filter(pk__in=[patient.pk for patient in patients])
        .values_list("pk", flat=True)
    )
    if not patients or any(patient.pk not in readable for patient in patients):
        raise ValueError("Every patient of a batch must share their diary with the clinician.")
    pages = []
    documents = []
    for patient in patients:
        context = summary_context(patient) | {"for_pdf": True}
        html = render_to_string("tracker/report_summary.html", context)
        document = one_page_document(html, base_url)
        documents.append(document)
        pages.extend(document.pages)
    return documents[0].copy(pages).write_pdf()


class SkippedBrowserCss(logging.Filter):
    """app.css is written for browsers: WeasyPrint's word on each rule it skips is noise in the
    log, where a file it could not read must still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        skipped = ("Ignored `", "Expected a media type", "Invalid media type")
        return not record.getMessage().startswith(skipped)


logging.getLogger("weasyprint").addFilter(SkippedBrowserCss())


def static_files_fetcher():
    """A WeasyPrint URL fetcher that reads our static files from disk, and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            path = static_file(url)
            if path is None:
                raise ValueError(f"Not one of our static files: {url}")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return StaticFilesOnly()


def static_file(url: str) -> Path | None:
    """The file on disk of one of our static URLs (whatever the host), or None."""
    path = unquote(urlsplit(url).path)
    if not path.startswith(settings.STATIC_URL):
        return None
    name = path.removeprefix(settings.STATIC_URL)
    if ".." in Path(name).parts:
        return None
    # The source files first, as runserver serves them; then collectstatic's (hashed) copies.
    found = finders.find(name)
    if found:
        return Path(found)
    if staticfiles_storage.exists(name):
        return Path(staticfiles_storage.path(name))
    return None
