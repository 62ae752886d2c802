"""engine/progress.py: the time left, estimated from the first step, on a fake clock."""

from __future__ import annotations

import pytest

from engine.progress import ProgressEvent, TimeLeft, duration_words


class Clock:
    """Seconds that pass only when a test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def feed(time_left: TimeLeft, clock: Clock, *events: tuple[float, str, int, int]) -> list:
    """Each event at its time: (seconds, stage, done, total) -> the estimates."""
    estimates = []
    for seconds, stage, done, total in events:
        clock.now = seconds
        estimates.append(time_left.update(ProgressEvent(stage, done, total)))
    return estimates


def test_the_first_step_gives_the_estimate_and_later_steps_refine_it():
    clock = Clock()
    time_left = TimeLeft(clock)  # made as the work starts, at 0 s
    estimates = feed(
        time_left,
        clock,
        (2.0, "Preparing the examples", 0, 0),  # no total: nothing to estimate
        (62.0, "Fine-tuning", 1, 20),  # the first step took 60 s: 19 more to go
        (102.0, "Fine-tuning", 2, 20),  # 50 s a step so far, 18 to go
    )
    assert estimates == [None, 19 * 60.0, 18 * 50.0]


def test_the_very_first_event_times_its_step_from_when_the_work_began():
    clock = Clock()
    clock.now = 10.0
    time_left = TimeLeft(clock)
    assert feed(time_left, clock, (40.0, "Fine-tuning", 1, 5)) == [4 * 30.0]


def test_a_new_stretch_is_timed_from_the_last_event_of_the_one_before():
    clock = Clock()
    time_left = TimeLeft(clock)
    checking = [(10.0 * step, "Checking on set-aside examples", step, 4) for step in (1, 2, 3, 4)]
    estimates = feed(time_left, clock, *checking, (43.0, "Fine-tuning", 1, 3))
    assert estimates[:4] == [30.0, 20.0, 10.0, 0.0]
    assert estimates[4] == pytest.approx(2 * 3.0)  # its first step: 40 s -> 43 s


def test_counts_that_go_on_across_stages_are_one_stretch():
    """The folds of a quality estimate change the stage's words, not the count."""
    clock = Clock()
    time_left = TimeLeft(clock)
    estimates = feed(
        time_left,
        clock,
        (5.0, "Estimating quality (fold 1 of 2)", 1, 200),
        (100.0, "Estimating quality (fold 1 of 2)", 100, 200),
        (200.0, "Estimating quality (fold 2 of 2)", 200, 200),
    )
    assert estimates == [pytest.approx(199 * 5.0), pytest.approx(100 * 1.0), 0.0]


@pytest.mark.parametrize("first", [9, 41], ids=["scaled units", "a resumed run"])
def test_a_stretch_not_starting_at_step_one_is_estimated_from_its_second_event(first):
    clock = Clock()
    time_left = TimeLeft(clock)
    estimates = feed(time_left, clock, (30.0, "Work", first, 100), (40.0, "Work", first + 10, 100))
    assert estimates == [None, pytest.approx(100 - first - 10)]  # 1 s a unit, from 30 s on


def test_a_count_that_goes_back_starts_a_new_stretch():
    clock = Clock()
    time_left = TimeLeft(clock)
    estimates = feed(time_left, clock, (10.0, "A", 1, 10), (20.0, "A", 2, 10), (25.0, "A", 1, 10))
    assert estimates == [90.0, 80.0, 45.0]


@pytest.mark.parametrize(
    "seconds, words",
    [
        (0.4, "about 5 seconds"),
        (42, "about 40 seconds"),
        (70, "about a minute"),
        (16 * 60 + 10, "about 16 minutes"),
        (89 * 60, "about 89 minutes"),
        (2 * 3600 + 100, "about 2 hours"),
        (5.3 * 3600, "about 5.5 hours"),
    ],
)
def test_durations_in_words(seconds, words):
    assert duration_words(seconds) == words
