from django.test import override_settings

from bench import run_bench


def test_the_benchmark_runs_every_measurement_on_tiny_data(db, capsys, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with run_bench.bench_settings(), override_settings(DEBUG=False):
        goals = run_bench.run_all(run_bench.QUICK)

    printed = capsys.readouterr().out
    assert "Benchmark done" in printed and "Quick mode" in printed
    for goal in goals:
        assert goal.label in printed
    labels = " ".join(goal.label for goal in goals)
    for figure in ["Relief page", "range=all", "list API", "check-in PUT", "sync of", "clinic"]:
        assert figure in labels
    # What holds whatever the sizes: the queries.
    met = {goal.label: goal.met for goal in goals}
    assert met["check-in PUT: ≤ 6 queries"]
    assert met["sync of 20 new check-ins: ≤ 30 queries"]
    assert met["Relief page, warm: read_diary's queries left out"]
    assert met["the mixed batch's replay adds no rows"]
