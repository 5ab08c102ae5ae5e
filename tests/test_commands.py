import datetime as dt
import statistics
from decimal import Decimal
from io import StringIO
from itertools import pairwise
from statistics import mean

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.conftest import TODAY
from tests.factories import totp_code
from tracker import models
from tracker.management.commands import add_clinician, seed_demo

PASSWORD = "relief-demo-2026"


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


@pytest.fixture
def demo_patient(db, debug, frozen_now) -> models.Patient:
    run("seed_demo")
    return models.Patient.objects.get(user__username="demo-patient")


def diary_ids(patient: models.Patient) -> dict[str, set]:
    return {
        "users": set(models.User.objects.values_list("id", flat=True)),
        "emails": set(EmailAddress.objects.values_list("id", "email", "verified", "primary")),
        "patients": set(models.Patient.objects.values_list("id", flat=True)),
        "conditions": set(models.PatientCondition.objects.values_list("id", flat=True)),
        "shares": set(models.Share.objects.values_list("id", flat=True)),
        "logs": set(patient.logs.values_list("id", "date", "severity", "pain", "note")),
        "injections": set(patient.injections.values_list("id", "date", "total_units")),
        "sites": set(models.InjectionSite.objects.values_list("id", "muscle", "side", "units")),
        "reactions": set(patient.reactions.values_list("id", "kind", "onset_date")),
    }


# seed_demo: the generator's arithmetic


@pytest.mark.parametrize("plan", seed_demo.PLANS, ids=lambda plan: plan.username)
@pytest.mark.parametrize("seed", range(5))
def test_split_dose_adds_up_exactly_to_the_total_in_steps(plan, seed):
    totals = {cycle.units or plan.units for cycle in plan.cycles}
    for total in totals:
        sites = seed_demo.split_dose(plan, total, seed_demo.random.Random(seed))
        assert sum(units for _, _, units in sites) == total
        assert all(units > 0 and units % plan.unit_step == 0 for _, _, units in sites)


def test_relief_rises_through_the_threshold_at_onset_and_falls_through_it_on_wearing_off():
    cycle = seed_demo.CyclePlan(90, onset=12, peak=31, wears_off=74)
    relief = [seed_demo.relief_curve(day, cycle, 65.0) for day in range(90)]
    assert relief[11] < seed_demo.THRESHOLD <= relief[12]
    assert max(relief) == relief[31] == 65.0
    assert relief[73] > seed_demo.THRESHOLD > relief[74]
    assert relief[81:] == [0.0] * 9
    assert relief[:31] == sorted(relief[:31])
    assert relief[33:] == sorted(relief[33:], reverse=True)
    # The smoothing's mean of d-3..d+3 crosses on the same days: the lines run straight.
    assert statistics.fmean(relief[9:16]) == pytest.approx(seed_demo.THRESHOLD)
    assert statistics.fmean(relief[70:77]) > seed_demo.THRESHOLD > statistics.fmean(relief[71:78])


def test_a_cycle_that_outlasts_the_next_injection_still_relieves_at_its_end():
    cycle = seed_demo.CyclePlan(84, onset=12, peak=30, wears_off=None)
    assert seed_demo.relief_curve(83, cycle, 65.0) > seed_demo.THRESHOLD + 5


# seed_demo: accounts and sharing


@pytest.mark.django_db
def test_seed_demo_creates_a_patient_and_a_clinician_with_their_names(demo_patient):
    patient_user = demo_patient.user
    clinician = models.User.objects.get(username="demo-clinician")
    assert (patient_user.role, patient_user.get_full_name()) == ("patient", "Alex Morgan")
    assert (clinician.role, clinician.get_full_name()) == ("clinician", "Sam Rivera")
    assert demo_patient.time_zone == "Europe/London"
    assert demo_patient.condition_codes == ["cervical_dystonia"]


@pytest.mark.django_db
def test_demo_users_have_a_verified_primary_email(demo_patient):
    addresses = EmailAddress.objects.order_by("email").values_list(
        "user__username", "email", "verified", "primary"
    )
    assert list(addresses) == [
        (username, f"{username}@example.com", True, True)
        for username in [
            "demo-clinician",
            "demo-coordinator",
            "demo-kofi",
            "demo-maria",
            "demo-nurse",
            "demo-patient",
            "demo-priya",
            "demo-tom",
        ]
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "username", ["demo-patient", "demo-clinician", "demo-nurse", "demo-coordinator"]
)
def test_demo_users_can_log_in_at_once(demo_patient, client, settings, username):
    # Email verification is mandatory: an unverified user would be sent to "verify your
    # email" instead of being logged in.
    settings.LOGIN_REDIRECT_URL = "/welcome/"
    response = client.post(reverse("account_login"), {"login": username, "password": PASSWORD})
    if username in seed_demo.MEMBERS:  # then the code of the README's authenticator secret
        assert response.url == reverse("mfa_authenticate")
        code = totp_code(seed_demo.MEMBERS[username][3])
        response = client.post(response.url, {"code": code})
    assert response.status_code == 302
    assert response.url == "/welcome/"
    assert int(client.session["_auth_user_id"]) == models.User.objects.get(username=username).pk


@pytest.mark.django_db
def test_seed_demo_shares_the_patient_with_the_demo_clinic(demo_patient):
    clinic = models.Clinic.objects.get(name="Demo Neurology Clinic")
    members = clinic.active_members().order_by("pk")
    assert [(m.user.username, m.role, m.is_admin) for m in members] == [
        ("demo-clinician", "clinician", True),
        ("demo-nurse", "nurse", False),
        ("demo-coordinator", "coordinator", False),
    ]
    assert models.Share.objects.active().filter(patient=demo_patient, clinic=clinic).count() == 1
    readers = {"demo-clinician": True, "demo-nurse": True, "demo-coordinator": False}
    for username, reads in readers.items():
        member = models.User.objects.get(username=username)
        assert (demo_patient in models.Patient.objects.visible_to(member)) is reads
        assert models.Patient.objects.listed_for(member).count() == 5


@pytest.mark.django_db
def test_seeding_again_adds_no_clinic_member_or_share(demo_patient):
    counts = [models.Clinic.objects.count(), models.Membership.objects.count()]
    counts.append(models.Share.objects.count())
    call_command("seed_demo")
    assert counts == [
        models.Clinic.objects.count(),
        models.Membership.objects.count(),
        models.Share.objects.count(),
    ]


# seed_demo: the clinic's other patients


@pytest.mark.django_db
def test_seed_demo_gives_the_clinician_four_more_patients_with_other_conditions(demo_patient):
    clinician = models.User.objects.get(username="demo-clinician")
    others = models.Patient.objects.visible_to(clinician).exclude(pk=demo_patient.pk)
    conditions = {p.user.username: p.condition_codes for p in others.select_related("user")}
    assert conditions == {
        "demo-priya": ["blepharospasm"],
        "demo-tom": ["spasmodic_dysphonia"],
        "demo-maria": ["limb_spasticity"],
        "demo-kofi": ["limb_spasticity"],
    }
    plans = {plan.username: plan for plan in seed_demo.OTHER_PATIENTS}
    for patient in others:
        plan = plans[patient.user.username]
        dates = list(patient.logs.order_by("date").values_list("date", flat=True))
        assert (patient.today() - dates[0]).days < plan.days
        assert len(dates) >= plan.days * 0.8
        injections = patient.injections.prefetch_related("sites")
        assert len(injections) == len(seed_demo.schedule(plan, plan.days))
        for injection in injections:
            assert sum(site.units for site in injection.sites.all()) == injection.total_units


@pytest.mark.django_db
def test_one_other_patient_has_an_open_red_flag_and_one_few_recent_logs(demo_patient):
    flagged = (
        models.Reaction.objects.red_flags().open().values_list("patient__user__username", flat=True)
    )
    assert list(flagged) == ["demo-tom"]
    maria = models.Patient.objects.get(user__username="demo-maria")
    assert maria.logs.filter(date__gt=maria.today() - dt.timedelta(days=14)).count() == 3


@pytest.mark.django_db
def test_the_demo_clinic_list_puts_the_red_flag_first(demo_patient, client):
    client.force_login(models.User.objects.get(username="demo-clinician"))
    rows = client.get(reverse("clinic")).context["items"]
    assert len(rows) == 5
    tom = models.Patient.objects.get(user__username="demo-tom")
    assert rows[0]["row"].patient_id == tom.pk


# seed_demo: the diary


@pytest.mark.django_db
def test_seeded_diary_covers_548_days_with_about_12_percent_missed(demo_patient):
    dates = sorted(demo_patient.logs.values_list("date", flat=True))
    start = TODAY - dt.timedelta(days=547)
    assert dates[0] >= start
    assert dates[-1] <= TODAY
    assert 0.10 <= 1 - len(dates) / 548 <= 0.14
    gaps = [(later - earlier).days - 1 for earlier, later in pairwise(dates)]
    assert sum(3 <= gap <= 5 for gap in gaps) >= 2


@pytest.mark.django_db
def test_seeded_scores_stay_in_range_and_extras_are_optional(demo_patient):
    logs = list(demo_patient.logs.all())
    assert all(0 <= log.severity <= 10 for log in logs)
    with_pain = [log for log in logs if log.pain is not None]
    assert 0.4 <= len(with_pain) / len(logs) <= 0.6
    assert all(0 <= log.pain <= 10 for log in with_pain)
    assert any(log.spasm_frequency is not None for log in logs)
    assert any(log.spasm_frequency is None for log in logs)
    assert any(log.note for log in logs)


@pytest.mark.django_db
def test_seeded_injections_are_12_to_14_weeks_apart_but_once_17(demo_patient):
    dates = list(demo_patient.injections.order_by("date").values_list("date", flat=True))
    first_log = demo_patient.logs.order_by("date").first()
    assert 5 <= len(dates) <= 7
    assert 14 <= (dates[0] - first_log.date).days <= 18
    intervals = sorted((later - earlier).days for earlier, later in pairwise(dates))
    assert 84 <= intervals[0] <= intervals[-2] <= 98
    assert intervals[-1] == 119  # the clinic had no appointment sooner: a long gap


@pytest.mark.django_db
def test_seeded_injection_sites_add_up_to_the_total(demo_patient):
    injections = demo_patient.injections.prefetch_related("sites")
    for injection in injections:
        assert injection.product == "botox"
        assert injection.injector == "Dr Sam Rivera"
        assert Decimal(200) <= injection.total_units <= Decimal(240)
        assert sum(site.units for site in injection.sites.all()) == injection.total_units
        assert {site.muscle for site in injection.sites.all()} == {
            "sternocleidomastoid",
            "splenius_capitis",
            "trapezius",
            "levator_scapulae",
        }
    assert {injection.guidance for injection in injections} == {"emg", ""}


@pytest.mark.django_db
def test_seeded_severities_show_relief_in_every_finished_cycle(demo_patient):
    severity_on = dict(demo_patient.logs.values_list("date", "severity"))
    dates = list(demo_patient.injections.order_by("date").values_list("date", flat=True))

    def mean_severity(injected_on, first_day, last_day):
        days = [injected_on + dt.timedelta(days=d) for d in range(first_day, last_day + 1)]
        return mean(severity_on[day] for day in days if day in severity_on)

    # Against the days before the first injection: a cycle's own baseline may still hold
    # relief from the cycle before (tests/test_demo_data.py measures the cycles).
    untreated = mean_severity(dates[0], -14, -1)
    for injected_on in dates[:-1]:
        assert mean_severity(injected_on, 28, 42) <= untreated - 2


@pytest.mark.django_db
def test_seeded_reactions_follow_injections_with_exactly_one_red_flag(demo_patient):
    reactions = list(demo_patient.reactions.select_related("injection"))
    assert 6 <= len(reactions) <= 8
    for reaction in reactions:
        assert reaction.injection.patient_id == demo_patient.pk
        assert reaction.onset_date >= reaction.injection.date
    red_flag = demo_patient.reactions.red_flags().get()
    assert (red_flag.kind, red_flag.severity) == ("swallowing_speaking_worse", "severe")
    assert red_flag.resolved_date > red_flag.onset_date
    assert red_flag.note
    assert demo_patient.reactions.filter(kind="swallowing_mild").exists()
    assert demo_patient.reactions.filter(pain_reliever="Paracetamol", pain_reliever_dose="1 g")


@pytest.mark.django_db
def test_seed_demo_prints_a_one_line_summary(debug, frozen_now):
    summary = run("seed_demo")
    assert summary.count("\n") == 1
    assert summary.startswith("Demo data ready: demo-patient (548 days, ")
    assert PASSWORD in summary


# seed_demo: running it again


@pytest.mark.django_db
def test_running_seed_demo_twice_changes_nothing(demo_patient):
    before = diary_ids(demo_patient)
    run("seed_demo")
    assert diary_ids(demo_patient) == before


@pytest.mark.django_db
def test_seed_demo_restores_the_demo_password(demo_patient):
    demo_patient.user.set_password("something-else-entirely")
    demo_patient.user.save()
    run("seed_demo")
    demo_patient.user.refresh_from_db()
    assert demo_patient.user.check_password(PASSWORD)


@pytest.mark.django_db
def test_reset_regenerates_the_diary(demo_patient):
    before = diary_ids(demo_patient)
    demo_patient.logs.filter(date__gte=TODAY - dt.timedelta(days=30)).delete()
    demo_patient.reactions.all().delete()

    run("seed_demo", reset=True)

    after = diary_ids(demo_patient)
    assert len(after["logs"]) == len(before["logs"])
    assert {row[1:] for row in after["logs"]} == {row[1:] for row in before["logs"]}
    assert len(after["reactions"]) == len(before["reactions"])
    assert not {row[0] for row in after["injections"]} & {row[0] for row in before["injections"]}
    assert after["users"] == before["users"]
    assert after["shares"] == before["shares"]


@pytest.mark.django_db
def test_reset_leaves_other_patients_alone(demo_patient, patient, injection):
    run("seed_demo", reset=True)
    assert list(models.Injection.objects.filter(patient=patient)) == [injection]


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run("seed_demo")
    assert not models.User.objects.exists()


@pytest.mark.django_db
def test_seed_demo_runs_without_debug_when_forced(settings, frozen_now):
    settings.DEBUG = False
    run("seed_demo", force=True)
    assert models.DailyLog.objects.exists()


# add_clinician


@pytest.mark.django_db
def test_add_clinician_creates_a_clinician_with_a_verified_email():
    summary = run(
        "add_clinician",
        "drjo",
        email="Jo@Clinic.example",
        first_name="Jo",
        last_name="Okafor",
        password="tall-river-lamp-42",
    )
    user = models.User.objects.get(username="drjo")
    assert user.is_clinician
    assert user.get_full_name() == "Jo Okafor"
    assert user.check_password("tall-river-lamp-42")
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("jo@clinic.example", True, True)
    assert summary.count("\n") == 1
    assert "drjo" in summary


@pytest.mark.django_db
def test_add_clinician_refuses_an_existing_username(clinician):
    with pytest.raises(CommandError, match="already a user called “doc”"):
        run("add_clinician", "doc", email="new@clinic.example", password="tall-river-lamp-42")
    assert not EmailAddress.objects.filter(email="new@clinic.example").exists()


@pytest.mark.django_db
def test_add_clinician_refuses_an_email_in_use(clinician):
    with pytest.raises(CommandError, match="already belongs"):
        run("add_clinician", "doc2", email="DOC@example.com", password="tall-river-lamp-42")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("password", "message"),
    [("password", "too common"), ("x7", "too short"), ("drjo-clinic", "too similar")],
)
def test_add_clinician_rejects_a_weak_password(password, message):
    with pytest.raises(CommandError, match=message):
        run("add_clinician", "drjo", email="drjo-clinic@example.com", password=password)
    assert not models.User.objects.exists()


@pytest.mark.django_db
def test_add_clinician_asks_for_the_password_twice(monkeypatch):
    answers = iter(["tall-river-lamp-42", "tall-river-lamp-42"])
    monkeypatch.setattr(add_clinician.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(add_clinician.getpass, "getpass", lambda prompt: next(answers))
    run("add_clinician", "drjo", email="jo@clinic.example")
    assert models.User.objects.get(username="drjo").check_password("tall-river-lamp-42")


@pytest.mark.django_db
def test_add_clinician_refuses_passwords_that_differ(monkeypatch):
    answers = iter(["tall-river-lamp-42", "tall-river-lamp-43"])
    monkeypatch.setattr(add_clinician.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(add_clinician.getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="differ"):
        run("add_clinician", "drjo", email="jo@clinic.example")
    assert not models.User.objects.exists()


@pytest.mark.django_db
def test_add_clinician_needs_a_password_when_there_is_no_terminal(monkeypatch):
    monkeypatch.setattr(add_clinician.sys.stdin, "isatty", lambda: False, raising=False)
    with pytest.raises(CommandError, match="no terminal"):
        run("add_clinician", "drjo", email="jo@clinic.example")


# admin


@pytest.fixture
def admin_client(client, demo_patient):
    from allauth.mfa.models import Authenticator

    superuser = models.User.objects.create_superuser(
        "root", "root@example.com", "tall-river-lamp-42"
    )
    # Staff open the admin with a second factor only (tracker/security.py).
    Authenticator.objects.create(user=superuser, type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
    client.force_login(superuser)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["user", "patient", "dailylog", "injection", "reaction", "share"])
def test_admin_changelist_answers_200_for_a_superuser(admin_client, model):
    response = admin_client.get(reverse(f"admin:tracker_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("model", "queries"),
    [("patient", 7), ("share", 7), ("injection", 9), ("reaction", 9), ("dailylog", 10)],
)
def test_admin_changelist_runs_a_fixed_number_of_queries(
    admin_client, django_assert_num_queries, model, queries
):
    # Session, user, their second factor, count twice (filtered and total), the page of rows
    # joined to patients and users; with a date hierarchy the first and last dates and the
    # years; for daily logs the distinct severities of the filter; one insert of the access
    # history of the patients shown. None of them is per row.
    with django_assert_num_queries(queries):
        admin_client.get(reverse(f"admin:tracker_{model}_changelist"))


@pytest.mark.django_db
def test_admin_shows_an_injection_with_its_sites(admin_client, demo_patient):
    injection = demo_patient.injections.first()
    response = admin_client.get(reverse("admin:tracker_injection_change", args=[injection.pk]))
    assert response.status_code == 200
    assert b"Splenius capitis" in response.content


@pytest.mark.django_db
def test_admin_can_create_a_clinician(admin_client):
    response = admin_client.post(
        reverse("admin:tracker_user_add"),
        {
            "username": "drkim",
            "role": "clinician",
            "email": "kim@clinic.example",
            "first_name": "Kim",
            "last_name": "Lee",
            "usable_password": "true",
            "password1": "tall-river-lamp-42",
            "password2": "tall-river-lamp-42",
        },
    )
    assert response.status_code == 302
    assert models.User.objects.get(username="drkim").role == "clinician"
