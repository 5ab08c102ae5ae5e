from bench import run_bench


def test_the_bench_syncs_a_batch_of_new_items_and_its_replay_adds_no_rows(db):
    sync, replay, (after_sync, after_replay) = run_bench.sync_timings(2)

    assert run_bench.sync_size() == 500
    assert (after_sync.logs, after_sync.injections, after_sync.reactions) == (400, 40, 60)
    assert after_sync.sites == 80
    assert after_replay == after_sync
    assert sync.median_ms > 0 and replay.median_ms > 0
    assert replay.queries < sync.queries  # nothing to insert the second time
