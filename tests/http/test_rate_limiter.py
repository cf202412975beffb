"""The shared limiter alone: a push-back pauses all and lowers concurrency; slowly back up."""

from __future__ import annotations

import threading

from tap_data365.http.ratelimit import FIRST_PROBE_AFTER, AdaptiveLimiter, pushes_back


class Clock:
    """A clock the test moves by hand: pauses and rates are checked without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_429_and_503_with_retry_after_push_back() -> None:
    assert pushes_back(429, None)
    assert pushes_back(429, 2.0)
    assert pushes_back(503, 1.0)
    assert not pushes_back(503, None)
    assert not pushes_back(500, 1.0)
    assert not pushes_back(200, None)


def test_no_more_than_max_concurrency_in_flight() -> None:
    limiter = AdaptiveLimiter(3, clock=Clock())
    slots = [limiter.try_acquire() for _ in range(3)]
    assert all(slot is not None for slot in slots)
    assert limiter.try_acquire() is None
    assert slots[0] is not None
    limiter.release(slots[0], 200)
    assert limiter.try_acquire() is not None


def test_a_429_pauses_every_worker_for_the_time_asked() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(4, clock=clock)
    first = limiter.try_acquire()
    assert first is not None
    limiter.release(first, 429, retry_after=5.0)
    assert limiter.try_acquire() is None  # nobody goes out during the pause
    clock.now += 4.9
    assert limiter.try_acquire() is None
    clock.now += 0.2
    assert limiter.try_acquire() is not None


def test_a_push_back_halves_once_per_burst_and_caps_at_what_was_in_flight() -> None:
    limiter = AdaptiveLimiter(16, clock=Clock())
    slots = [limiter.try_acquire() for _ in range(12)]
    assert all(slot is not None for slot in slots)
    # The 12th request was refused: the server allowed fewer than 12; halving 16 gives 8.
    limiter.release(slots[11], 429)  # type: ignore[arg-type]
    assert limiter.limit == 8
    # More refusals of the same burst are the same congestion: no second halving ...
    limiter.release(slots[10], 429)  # type: ignore[arg-type]
    assert limiter.limit == 8
    # ... but a refusal with 3 in flight at send time says the server allows at most 2.
    limiter.release(slots[2], 429)  # type: ignore[arg-type]
    assert limiter.limit == 2
    assert limiter.throttled == 3


def test_a_503_without_retry_after_and_a_lost_connection_change_nothing() -> None:
    limiter = AdaptiveLimiter(4, clock=Clock())
    for status in (503, None, 500):
        slot = limiter.try_acquire()
        assert slot is not None
        limiter.release(slot, status)
    assert limiter.limit == 4
    assert limiter.throttled == 0


def test_clean_answers_raise_the_limit_slowly_up_to_max_concurrency() -> None:
    limiter = AdaptiveLimiter(3, clock=Clock())
    slot = limiter.try_acquire()
    second = limiter.try_acquire()
    assert slot is not None
    assert second is not None
    limiter.release(slot, 200)
    limiter.release(second, 429)  # two in flight, the second refused: down to one
    assert limiter.limit == 1
    answers = 0
    while limiter.limit == 1:
        slot = limiter.try_acquire()
        assert slot is not None
        assert limiter.try_acquire() is None  # still one at a time
        limiter.release(slot, 200)
        answers += 1
    # One step up after twice the first probe distance (doubled by the push-back).
    assert answers == 2 * FIRST_PROBE_AFTER
    for _ in range(10 * FIRST_PROBE_AFTER):
        slot = limiter.try_acquire()
        assert slot is not None
        limiter.release(slot, 200)
    assert limiter.limit == 3  # never above max_concurrency


def test_a_probe_that_is_refused_makes_the_next_probe_wait_longer() -> None:
    limiter = AdaptiveLimiter(2, clock=Clock())
    first, second = limiter.try_acquire(), limiter.try_acquire()
    limiter.release(first, 200)  # type: ignore[arg-type]
    limiter.release(second, 429)  # type: ignore[arg-type]
    distances = []
    for _ in range(3):
        answers = 0
        while limiter.limit == 1:
            slot = limiter.try_acquire()
            limiter.release(slot, 200)  # type: ignore[arg-type]
            answers += 1
        distances.append(answers)
        # The probe: two go out, the second is refused.
        first, second = limiter.try_acquire(), limiter.try_acquire()
        assert second is not None
        limiter.release(first, 200)  # type: ignore[arg-type]
        limiter.release(second, 429)
    assert distances == [2 * FIRST_PROBE_AFTER, 4 * FIRST_PROBE_AFTER, 8 * FIRST_PROBE_AFTER]


def test_max_requests_per_second_spaces_the_starts() -> None:
    clock = Clock()
    limiter = AdaptiveLimiter(8, max_requests_per_second=4, clock=clock)
    assert limiter.try_acquire() is not None
    assert limiter.try_acquire() is None  # the next start is 0.25 s later
    clock.now += 0.25
    assert limiter.try_acquire() is not None
    clock.now += 0.1
    assert limiter.try_acquire() is None


def test_a_waiting_worker_goes_as_soon_as_a_slot_is_released() -> None:
    limiter = AdaptiveLimiter(1)
    held = limiter.acquire()
    got = threading.Event()

    def worker() -> None:
        slot = limiter.acquire()
        got.set()
        limiter.release(slot, 200)

    thread = threading.Thread(target=worker)
    thread.start()
    assert not got.is_set()  # the only slot is held, so the worker cannot have passed
    limiter.release(held, 200)
    thread.join(timeout=30)
    assert got.is_set()


def test_a_sporadic_429_at_a_level_that_held_does_not_push_the_next_probe_away() -> None:
    limiter = AdaptiveLimiter(2, clock=Clock())
    for _ in range(FIRST_PROBE_AFTER):  # two at once, answered cleanly: the server takes two
        first, second = limiter.try_acquire(), limiter.try_acquire()
        limiter.release(first, 200)  # type: ignore[arg-type]
        limiter.release(second, 200)  # type: ignore[arg-type]
    first, second = limiter.try_acquire(), limiter.try_acquire()
    limiter.release(first, 200)  # type: ignore[arg-type]
    limiter.release(second, 429)  # type: ignore[arg-type]
    assert limiter.limit == 1
    answers = 0
    while limiter.limit == 1:
        slot = limiter.try_acquire()
        limiter.release(slot, 200)  # type: ignore[arg-type]
        answers += 1
    assert answers == FIRST_PROBE_AFTER  # not doubled: two in flight had worked before


def test_a_retry_after_beyond_max_pause_does_not_hold_the_other_workers() -> None:
    # The run stops on such an answer (max_retry_wait); the others must not sit it out.
    limiter = AdaptiveLimiter(4, max_pause=120, clock=Clock())
    slot = limiter.try_acquire()
    assert slot is not None
    limiter.release(slot, 429, retry_after=3600)
    assert limiter.try_acquire() is not None


def test_slow_start_doubles_per_clean_round_until_the_first_push_back() -> None:
    limiter = AdaptiveLimiter(8, start=2, clock=Clock())
    for _ in range(10):  # one at a time proves nothing about two at once
        slot = limiter.try_acquire()
        assert slot is not None
        limiter.release(slot, 200)
    for expected in (2, 4, 8, 8):
        assert limiter.limit == expected
        slots = [limiter.try_acquire() for _ in range(expected)]
        assert limiter.try_acquire() is None  # no more than the limit in flight
        for slot in slots:
            assert slot is not None
            limiter.release(slot, 200)
    # A push-back ends the slow start: clean answers no longer double the limit.
    limiter = AdaptiveLimiter(8, start=2, clock=Clock())
    first, second = limiter.try_acquire(), limiter.try_acquire()
    assert first is not None
    assert second is not None
    limiter.release(first, 429, 0.0)
    limiter.release(second, 200)
    assert limiter.limit == 1
    for _ in range(FIRST_PROBE_AFTER - 1):
        slot = limiter.try_acquire()
        assert slot is not None
        limiter.release(slot, 200)
    assert limiter.limit == 1
