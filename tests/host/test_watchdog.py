"""The watchdog's account of the garbage collector: start-up's full collections apart from serving's."""
import asyncio
import gc

from labservices.host.watchdog import LoopWatchdog


def test_full_collections_are_counted_afresh_from_the_freeze():
    loop = asyncio.new_event_loop()
    loop.close()  # the lag-watching thread ends at once: only the collector's account is under test
    watchdog = LoopWatchdog(loop, {}).start()
    try:
        gc.collect(), gc.collect(1)  # one full collection (a generation-1 one is not counted)
        assert watchdog.report()["gc"]["full_collections"] == 1 and watchdog.report()["gc"]["startup"] is None
        watchdog.freeze()
        assert gc.get_freeze_count() > 0
        after = watchdog.report()["gc"]
        assert after["startup"]["full_collections"] == 1 and after["startup"]["max_pause_ms"] > 0
        assert (after["full_collections"], after["max_pause_ms"]) == (0, 0.0)
        gc.collect()
        assert watchdog.report()["gc"]["full_collections"] == 1
    finally:
        watchdog.stop()
        gc.unfreeze()
    gc.collect()
    assert watchdog.report()["gc"]["full_collections"] == 1  # stopped: no longer listening
