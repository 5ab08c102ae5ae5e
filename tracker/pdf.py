"""Making a page into a PDF with WeasyPrint, from our own static files only."""

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage

# When long notes or many muscles would still need a second page, the PDF is made again in
# smaller print: one page is the point of the summary.
COMPACT_PRINT = (
    "html { font-size: 7pt !important; } .summary .chart-svg { max-width: 80% !important; }"
)


class Unavailable(Exception):
    """WeasyPrint (or the Pango it needs) is not installed on this server."""


def one_page_pdf(html: str, base_url: str) -> bytes:
    """The page as a PDF, in smaller print when it would not fit on one page."""
    try:
        # Imported here: it needs Pango and friends, which the rest of the app does without.
        import weasyprint
    except (ImportError, OSError) as error:
        raise Unavailable from error
    page = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=static_files_fetcher())
    document = page.render()
    if len(document.pages) > 1:
        document = page.render(stylesheets=[weasyprint.CSS(string=COMPACT_PRINT)])
    return document.write_pdf()


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
