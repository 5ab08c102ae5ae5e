"""The numbers on the urgent card, without a database."""

import pytest

from tracker import emergency


@pytest.mark.parametrize(
    ("time_zone", "country", "number"),
    [
        ("America/New_York", "US", "911"),
        ("America/Los_Angeles", "US", "911"),
        ("America/Toronto", "CA", "911"),
        ("America/Mexico_City", "MX", "911"),
        ("Europe/London", "GB", "999"),
        ("Europe/Jersey", "JE", "999"),
        ("Europe/Dublin", "IE", "112"),
        ("Europe/Berlin", "DE", "112"),
        ("Europe/Paris", "FR", "112"),
        ("Europe/Madrid", "ES", "112"),
        ("Atlantic/Canary", "ES", "112"),
        ("Europe/Oslo", "NO", "113"),
        ("Europe/Zurich", "CH", "144"),
        ("Australia/Sydney", "AU", "000"),
        ("Australia/Perth", "AU", "000"),
        ("Pacific/Auckland", "NZ", "111"),
        ("Asia/Tokyo", "JP", "119"),
        ("Asia/Seoul", "KR", "119"),
        ("Asia/Shanghai", "CN", "120"),
        ("Asia/Hong_Kong", "HK", "999"),
        ("Asia/Singapore", "SG", "995"),
        ("Asia/Jerusalem", "IL", "101"),
        ("America/Sao_Paulo", "BR", "192"),
        ("Asia/Kolkata", "IN", "112"),
        ("Africa/Nairobi", "KE", "112"),  # not listed: the default
        # Old names are links to a zone of zone.tab.
        ("US/Eastern", "US", "911"),
        ("Asia/Calcutta", "IN", "112"),
        ("Europe/Belfast", "GB", "999"),
        ("GB", "GB", "999"),
        # No country: the default.
        ("UTC", None, "112"),
        ("Etc/GMT+5", None, "112"),
        ("Not/A_Zone", None, "112"),
    ],
)
def test_the_emergency_number_comes_from_the_time_zones_country(time_zone, country, number):
    assert emergency.country_of(time_zone) == country
    assert emergency.emergency_number_for(time_zone) == number


def test_every_listed_country_is_one_the_tz_database_knows():
    assert set(emergency.EMERGENCY_NUMBERS) <= set(emergency._country_names())


def test_the_zone_tables_are_read_from_the_tzdata_package():
    # requirements.txt names tzdata: a fresh machine has these tables without the system's.
    assert len(emergency._countries_by_zone()) > 300
    assert emergency.country_name("NZ") == "New Zealand"


def test_a_chosen_number_wins_over_the_countrys():
    numbers = emergency.numbers_for("Europe/London", "112", "020 7946 0000")
    assert (numbers.emergency, numbers.emergency_chosen, numbers.clinic) == (
        "112",
        True,
        "020 7946 0000",
    )
    assert numbers.emergency_href == "tel:112"
    assert numbers.clinic_href == "tel:02079460000"


def test_without_a_chosen_number_it_is_the_countrys():
    numbers = emergency.numbers_for("Australia/Sydney")
    assert (numbers.emergency, numbers.emergency_chosen, numbers.country) == (
        "000",
        False,
        "Australia",
    )
    assert numbers.clinic_href == ""


@pytest.mark.parametrize(
    ("typed", "href"),
    [
        ("999", "tel:999"),
        ("+44 20 7946-0000", "tel:+442079460000"),
        ("(555) 010-4477", "tel:5550104477"),
        (" +1 555 0100", "tel:+15550100"),
    ],
)
def test_a_number_is_dialled_as_its_digits(typed, href):
    assert emergency.tel_href(typed) == href


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("112", None),
        ("+44 (0)20 7946-0000", None),
        ("1" * 20, None),
        ("12", "A phone number has 3 to 20 digits."),
        ("1" * 21, "A phone number has 3 to 20 digits."),
        ("(+) - -", "A phone number has 3 to 20 digits."),
        ("020 7946 0000 ext. 4", "Use only digits, spaces, +, - and brackets."),
        ("call 999", "Use only digits, spaces, +, - and brackets."),
        ("١١٢", "Use only digits, spaces, +, - and brackets."),  # digits, but not 0-9
        ("112\n", "Use only digits, spaces, +, - and brackets."),
    ],
)
def test_phone_numbers_are_checked_loosely(typed, error):
    assert emergency.phone_number_error(typed) == error
