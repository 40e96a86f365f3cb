"""The schedule of the daemon (APScheduler 3.x): one sync job, interval or cron.

The job only enqueues "sync": the work runs on the daemon's one owner thread, which
holds the store. One run at a time, missed runs coalesced into one, and a generous
misfire grace (a laptop that slept still syncs when it wakes) — set in ``job_defaults``,
where APScheduler reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pv2simkl.config import DaemonSettings

log = logging.getLogger(__name__)
JOB_ID = "pv2simkl-sync"


def trigger(settings: DaemonSettings):
    """The trigger the settings ask for (cron wins over the interval); the settings checked
    both when they were made."""
    if settings.cron.strip():
        minute, hour, day, month, weekday = settings.cron.split()
        # from_crontab() takes no jitter: build the trigger from the five fields.
        jitter = settings.jitter_seconds or None
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=weekday, jitter=jitter)  # fmt: skip
    return IntervalTrigger(
        minutes=settings.interval_minutes, jitter=settings.jitter_seconds or None
    )


def build(settings: DaemonSettings, enqueue: Callable[[], None]) -> BackgroundScheduler:
    """A started-on-demand scheduler whose one job calls ``enqueue``."""
    scheduler = BackgroundScheduler(
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
    )
    scheduler.add_job(enqueue, trigger(settings), id=JOB_ID, replace_existing=True,
                      name="sync")  # fmt: skip

    def report(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("a scheduled sync was missed (the computer slept?)")
        else:
            log.error("the scheduled job failed: %s", event.exception)

    scheduler.add_listener(report, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def next_run(scheduler: BackgroundScheduler) -> datetime | None:
    job = scheduler.get_job(JOB_ID)
    return job.next_run_time if job else None
