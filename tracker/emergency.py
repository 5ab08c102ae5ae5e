"""The numbers on the urgent card: the emergency number of the patient's country, found from
their time zone, and the phone numbers a patient types (docs/clinical-rules.md, "Red flags").

Pure: the tz database's own tables (zone.tab: a time zone's country; iso3166.tab: the
country's name; tzdata.zi: which names are links to which zone) are read from the `tzdata`
package, with the system's copy as a fallback.
"""

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

# 112 reaches the emergency services in every EU country and on most mobile networks of the
# world (GSM phones route it), so it is the number for a country not listed below.
DEFAULT_EMERGENCY_NUMBER = "112"

# The number for an ambulance, by ISO 3166 country code: only those we can state with
# confidence. Every other country gets DEFAULT_EMERGENCY_NUMBER.
EMERGENCY_NUMBERS = {
    **dict.fromkeys(
        ["US", "CA", "PR", "GU", "VI", "AS", "MP", "MX", "PH", "CR", "PA", "DO", "UY", "EC"],
        "911",
    ),
    **dict.fromkeys(["GB", "GG", "JE", "IM", "HK", "MY"], "999"),
    "AU": "000",
    "NZ": "111",
    **dict.fromkeys(["JP", "KR", "TW"], "119"),
    "CN": "120",
    **dict.fromkeys(["CH", "LI"], "144"),
    "NO": "113",
    "IL": "101",
    "SG": "995",
    "BR": "192",
    "TH": "1669",
    # The European Union, and some neighbours on 112, named so the table says so.
    **dict.fromkeys(["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR"], "112"),
    **dict.fromkeys(["DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU", "MT", "NL"], "112"),
    **dict.fromkeys(["PL", "PT", "RO", "SK", "SI", "ES", "SE"], "112"),
    **dict.fromkeys(["IS", "IN", "TR", "UA"], "112"),
}

SYSTEM_ZONEINFO = Path("/usr/share/zoneinfo")


def _tz_table(name: str) -> str:
    """One of the tz database's text tables, or "" when neither copy is there."""
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    try:
        return (SYSTEM_ZONEINFO / name).read_text(encoding="utf-8")
    except OSError:
        return ""


def _rows(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def _countries_by_zone() -> dict[str, str]:
    return {row[2]: row[0] for row in _rows(_tz_table("zone.tab")) if len(row) >= 3}


@cache
def _country_names() -> dict[str, str]:
    return {row[0]: row[1] for row in _rows(_tz_table("iso3166.tab")) if len(row) >= 2}


@cache
def _links() -> dict[str, str]:
    """Old and alternative names ("US/Eastern", "Asia/Calcutta") -> the zone they stand for."""
    links = {}
    for line in _tz_table("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, name = line.split()
            links[name] = target
    return links


def country_of(time_zone: str) -> str | None:
    """The ISO 3166 code of the country whose time zone this is; None for UTC and the like."""
    countries, links = _countries_by_zone(), _links()
    for _ in range(5):  # a link may point at another link
        if time_zone in countries:
            return countries[time_zone]
        if time_zone not in links:
            return None
        time_zone = links[time_zone]
    return None


def country_name(code: str | None) -> str:
    return _country_names().get(code or "", "")


def emergency_number_for(time_zone: str) -> str:
    return EMERGENCY_NUMBERS.get(country_of(time_zone) or "", DEFAULT_EMERGENCY_NUMBER)


# A phone number as a patient may type it: digits, spaces, +, - and brackets.
PHONE_CHARACTERS = re.compile(r"[0-9 +()\-]+")
PHONE_MIN_DIGITS = 3
PHONE_MAX_DIGITS = 20


def phone_number_error(text: str) -> str | None:
    """What is wrong with a typed phone number, in words, or None."""
    if not PHONE_CHARACTERS.fullmatch(text):
        return "Use only digits, spaces, +, - and brackets."
    digits = sum(character.isdigit() for character in text)
    if not PHONE_MIN_DIGITS <= digits <= PHONE_MAX_DIGITS:
        return f"A phone number has {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits."
    return None


def tel_href(number: str) -> str:
    """ "+44 20 7946-0000" -> "tel:+442079460000": what a phone dials when tapped."""
    digits = re.sub(r"\D", "", number)
    return f"tel:{'+' if number.strip().startswith('+') else ''}{digits}"


@dataclass(frozen=True)
class Numbers:
    """The two numbers on a patient's urgent card."""

    emergency: str
    emergency_chosen: bool  # typed by the patient, rather than their country's
    country: str  # the country's name, "" when the time zone names none
    clinic: str  # "" until the patient adds it in their settings

    @property
    def emergency_href(self) -> str:
        return tel_href(self.emergency)

    @property
    def clinic_href(self) -> str:
        return tel_href(self.clinic) if self.clinic else ""


def numbers_for(time_zone: str, emergency_number: str = "", clinic_phone: str = "") -> Numbers:
    """The patient's numbers: the emergency number they chose, else their country's."""
    return Numbers(
        emergency=emergency_number or emergency_number_for(time_zone),
        emergency_chosen=bool(emergency_number),
        country=country_name(country_of(time_zone)),
        clinic=clinic_phone,
    )
