from bench import run_bench


def test_the_bench_times_the_summary_pdf_as_a_clinician_downloads_it(db, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    patient = run_bench.make_patient("bench-pdf", 30)

    result = run_bench.summary_pdf_timing(patient, runs=2)

    if result is None:  # WeasyPrint is not installed here
        return
    assert result.median_ms > 0
    assert result.queries > 0
    # One to warm up, the timed runs, one counted: each in the patient's access history.
    assert patient.access_events.filter(what="pdf").count() == 1 + 2 + 1
