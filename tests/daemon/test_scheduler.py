"""The daemon's schedule: interval or cron from config, one run at a time, catch-up."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from pv2simkl.config import DaemonSettings
from pv2simkl.daemon import scheduler
from pv2simkl.errors import ConfigError


def test_interval_job_with_the_safe_defaults() -> None:
    fired: list[datetime] = []
    done = threading.Event()

    def job() -> None:
        fired.append(datetime.now())
        done.set()

    before = datetime.now().astimezone()
    sched = scheduler.build(DaemonSettings(interval_minutes=90, jitter_seconds=0), job)
    sched.start(paused=True)
    try:
        after = datetime.now().astimezone()
        job = sched.get_job(scheduler.JOB_ID)
        assert job.max_instances == 1 and job.coalesce is True
        assert job.misfire_grace_time == 3600  # a laptop that slept still syncs on waking
        due = scheduler.next_run(sched)
        period = timedelta(minutes=90)  # from the moment the job was added
        assert before + period - timedelta(seconds=1) <= due <= after + period
        job.modify(next_run_time=datetime.now(due.tzinfo))
        sched.resume()
        assert done.wait(30)  # a guard against a hang, not a timing: it fires at once
        assert len(fired) == 1
    finally:
        sched.shutdown(wait=False)


def test_cron_wins_over_the_interval() -> None:
    sched = scheduler.build(DaemonSettings(cron="30 4 * * *", jitter_seconds=0), lambda: None)
    sched.start(paused=True)
    try:
        due = scheduler.next_run(sched)
        assert (due.hour, due.minute) == (4, 30)
    finally:
        sched.shutdown(wait=False)


@pytest.mark.parametrize("values", [{"cron": "every day"}, {"interval_minutes": 0}])
def test_bad_schedules_are_config_errors(values: dict) -> None:
    with pytest.raises(ConfigError):  # refused when the settings are made
        DaemonSettings(**values)
