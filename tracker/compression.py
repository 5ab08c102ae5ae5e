"""HTML and JSON answers compressed: Brotli where the client asks for it, else gzip.

Static files are not compressed here: WhiteNoise serves the .br and .gz copies that
`collectstatic` made (CompressedManifestStaticFilesStorage), and answers before this middleware
is reached.

Why this is safe against BREACH (a length side channel: an attacker who can make a victim's
browser send requests, and can see the sizes of the answers, guesses a secret in the body by
reflecting guesses beside it):
- the only secret of ours in a page's body is the CSRF token, and Django masks it afresh in
  every answer, so that no two answers hold the same bytes for a guess to match;
- the session cookie travels in headers, which are not compressed;
- the pages that show an account's own secrets (the authenticator app's key, the recovery
  codes, under /accounts/) are never compressed;
- gzip answers carry a random-length header (Django's "Heal The Breach" padding), so that
  sizes differ from one answer to the next.
tests/test_speed_compression.py pins each of these.
"""

import brotli
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

COMPRESSED_TYPES = ("text/html", "application/json", "application/problem+json")
NEVER_COMPRESSED_PATHS = ("/accounts/",)  # allauth: log-in, authenticator key, recovery codes
MIN_SIZE = 200  # bytes: smaller answers gain nothing
# Brotli's quality 2 compresses the Relief page (64 KB) to 15.1 KB in 0.46 ms, where gzip's
# level 6 gives 15.7 KB in 1.9 ms. Quality 3 gave 15.4 KB in 0.53 ms on our pages (2 is both
# smaller and quicker there), 4 gives 14.7 KB in 0.92 ms and 1 gives 17.2 KB in 0.22 ms: for
# a page served from the cache, compressing is a good part of its time.
BROTLI_QUALITY = 2
RANDOM_GZIP_BYTES = 100


def accepted_encodings(header: str) -> set[str]:
    """The codings an Accept-Encoding header allows: "gzip;q=0" refuses gzip."""
    accepted = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=") if params.strip().startswith("q=") else "1"
        try:
            refused = float(quality) <= 0
        except ValueError:
            refused = False
        if name and not refused:
            accepted.add(name.strip().lower())
    return accepted


class CompressionMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.streaming  # downloads (CSV, FHIR, PDF): sent as they are made
            or response.has_header("Content-Encoding")
            or len(response.content) < MIN_SIZE
            or not response.get("Content-Type", "").startswith(COMPRESSED_TYPES)
            or request.path.startswith(NEVER_COMPRESSED_PATHS)
        ):
            return response
        patch_vary_headers(response, ("Accept-Encoding",))
        accepted = accepted_encodings(request.META.get("HTTP_ACCEPT_ENCODING", ""))
        if "br" in accepted:
            body, coding = brotli.compress(response.content, quality=BROTLI_QUALITY), "br"
        elif "gzip" in accepted:
            body = compress_string(response.content, max_random_bytes=RANDOM_GZIP_BYTES)
            coding = "gzip"
        else:
            return response
        if len(body) >= len(response.content):
            return response
        response.content = body
        response["Content-Length"] = str(len(body))
        response["Content-Encoding"] = coding
        # A strong ETag names the bytes sent; once compressed, they are other bytes.
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response["ETag"] = "W/" + etag
        return response
