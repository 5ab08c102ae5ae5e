import datetime as dt
import gzip
import re

import brotli
import pytest
from django.test import Client
from django.urls import reverse

import project.settings as project_settings
from tests import factories
from tracker.compression import accepted_encodings


def add_logs(patient, count: int) -> None:
    today = patient.today()
    for n in range(count):
        factories.DailyLogFactory(
            patient=patient, date=today - dt.timedelta(days=n), severity=n % 11
        )


@pytest.fixture
def diary(patient, frozen_now):
    add_logs(patient, 20)
    return patient


def get(client, url: str, encoding: str | None):
    headers = {"HTTP_ACCEPT_ENCODING": encoding} if encoding is not None else {}
    return client.get(url, **headers)


def test_a_page_goes_out_in_brotli_when_the_browser_asks_for_it(web, diary):
    plain = get(web, reverse("relief"), None)
    response = get(web, reverse("relief"), "gzip, deflate, br, zstd")

    assert response["Content-Encoding"] == "br"
    assert "Accept-Encoding" in response["Vary"]
    assert int(response["Content-Length"]) == len(response.content)
    html = brotli.decompress(response.content)
    assert len(response.content) < len(plain.content) / 3
    # The same page: only the masked CSRF tokens differ from one answer to the next.
    assert same_but_tokens(html, plain.content)


def test_a_page_goes_out_in_gzip_when_the_browser_does_not_take_brotli(web, diary):
    plain = get(web, reverse("relief"), None)
    response = get(web, reverse("relief"), "gzip, deflate")

    assert response["Content-Encoding"] == "gzip"
    assert same_but_tokens(gzip.decompress(response.content), plain.content)


def test_a_page_goes_out_as_it_is_to_a_browser_that_takes_no_compression(web, diary):
    response = get(web, reverse("relief"), None)
    refused = get(web, reverse("relief"), "br;q=0, gzip;q=0")

    for answer in (response, refused):
        assert not answer.has_header("Content-Encoding")
        assert b"<html" in answer.content
    assert "Accept-Encoding" in response["Vary"]


@pytest.mark.parametrize(
    ("encoding", "decompress"), [("br", brotli.decompress), ("gzip", gzip.decompress)]
)
def test_the_api_answers_json_compressed(patient, frozen_now, encoding, decompress):
    from tests.conftest import client_for

    add_logs(patient, 30)
    client = client_for(patient.user)

    response = client.get("/api/v1/logs/", HTTP_ACCEPT_ENCODING=encoding)

    assert response["Content-Encoding"] == encoding
    assert b'"severity"' in decompress(response.content)


def test_the_pages_with_an_accounts_own_secrets_are_never_compressed(db):
    response = get(Client(), reverse("account_login"), "br, gzip")

    assert response.status_code == 200 and len(response.content) > 1000
    assert not response.has_header("Content-Encoding")


def test_two_gzip_answers_of_the_same_page_differ_in_length_against_breach(web, diary):
    sizes = {len(get(web, reverse("relief"), "gzip").content) for _ in range(6)}

    assert len(sizes) > 1


def test_the_csrf_token_in_a_page_is_masked_afresh_in_every_answer(web, diary):
    first, second = (get(web, reverse("today"), None).content for _ in range(2))

    assert tokens(first) and tokens(first) != tokens(second)


def test_static_files_are_stored_with_their_brotli_and_gzip_copies():
    from whitenoise.compress import Compressor

    backend = project_settings.STORAGES["staticfiles"]["BACKEND"]
    assert backend == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert Compressor(quiet=True).use_brotli


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br", {"gzip", "deflate", "br"}),
        ("br;q=0, gzip", {"gzip"}),
        ("GZIP;q=0.5", {"gzip"}),
        ("", set()),
        ("br;q=nonsense", {"br"}),
    ],
)
def test_accepted_encodings_follow_the_quality_values(header, expected):
    assert accepted_encodings(header) == expected


TOKEN = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def tokens(html: bytes) -> list[bytes]:
    return TOKEN.findall(html)


def same_but_tokens(one: bytes, other: bytes) -> bool:
    return TOKEN.sub(b"", one) == TOKEN.sub(b"", other)
