"""Continuous batching: every song in flight is one row of a shared lyrics_gpt2.inference.sampler.Batch.

    engine = Engine(model, tokenizer, max_batch=32, max_queue=64)
    engine.start()                       # the sampling thread
    job = engine.submit(rows)            # Rejected(429) when the queue is full
    await job.admitted(timeout=30)       # Rejected(503) when it waited longer
    async for index, token, done in job.tokens(): ...

One thread owns the model and loops: admit waiting jobs while their rows fit in ``max_batch``
(they join at the next step), drop rows whose job was cancelled (a client went away), run one
step, and hand each job its new tokens on its event loop. A job's rows all join together, so a
request served alone runs exactly the batch the generate command runs for the same songs.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from dataclasses import dataclass, field

import torch

from lyrics_gpt2.inference.params import Row
from lyrics_gpt2.inference.sampler import Batch


class Rejected(Exception):
    """A request the server will not run: HTTP ``status`` with a one-line message."""

    def __init__(self, status: int, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass(eq=False)
class Job:
    rows: list[Row]
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    submitted: float = field(default_factory=time.perf_counter)
    cancelled: bool = False
    failed: str | None = None

    async def admitted(self, timeout: float) -> None:
        """Wait until the rows joined the batch; cancel and raise 503 after ``timeout`` s."""
        try:
            await asyncio.wait_for(self.started.wait(), timeout)
        except asyncio.TimeoutError:
            self.cancelled = True
            raise Rejected(503, f"waited {timeout:g} s in the queue; try again later") from None

    async def tokens(self):
        """(row index, token, row done) as the rows are sampled, until every row is done."""
        left = len(self.rows)
        while left:
            events = await self.events.get()
            if events is None:  # dropped (cancelled) or the sampler failed
                if self.failed:
                    raise Rejected(
                        500, f"sampling failed ({self.failed}); the server keeps running"
                    )
                return
            for index, token, done in events:
                left -= done
                yield index, token, done


class Engine:
    def __init__(self, model, tokenizer, *, max_batch: int = 32, max_queue: int = 64, metrics=None):
        self.model, self.tokenizer = model, tokenizer
        self.max_batch, self.max_queue, self.metrics = max_batch, max_queue, metrics
        eos = tokenizer.eos_token_id
        self.eos_id = eos
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
        self.batch = Batch(model, self.eos_id, self.pad_id)
        self.waiting: collections.deque[Job] = collections.deque()
        self.running: dict[Job, None] = {}  # insertion-ordered set
        self.wake = threading.Condition()
        self.thread: threading.Thread | None = None
        self.stopping = False

    # -- request side (event loop thread) ------------------------------------------------------
    def submit(self, rows: list[Row]) -> Job:
        job = Job(rows, asyncio.get_running_loop())
        for row in rows:
            row.owner = job
        with self.wake:
            if len(self.waiting) >= self.max_queue:
                raise Rejected(
                    429, f"{len(self.waiting)} requests already waiting; try again", retry_after=1
                )
            self.waiting.append(job)
            self.wake.notify()
        self._gauges()
        return job

    def cancel(self, job: Job) -> None:
        """Free the job's rows at the next step (its client went away or timed out)."""
        job.cancelled = True
        with self.wake:
            self.wake.notify()

    # -- sampling thread -----------------------------------------------------------------------
    def start(self) -> None:
        if self.thread is None:
            self.stopping = False
            self.thread = threading.Thread(target=self._loop, name="sampler", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        if self.thread is not None:
            with self.wake:
                self.stopping = True
                self.wake.notify()
            self.thread.join(timeout=10)
            self.thread = None

    def _loop(self) -> None:
        torch.set_grad_enabled(False)
        while True:
            with self.wake:
                while not self.stopping and not self.waiting and not self.batch.rows:
                    self.wake.wait()
                if self.stopping:
                    return
                joining = self._admit()
            try:
                self.batch.add([row for job in joining for row in job.rows])
                for job in joining:
                    _tell(job, job.started.set)
                self._drop_cancelled()
                self._step()
            except Exception as exc:  # never let one bad step stop the service
                for job in self.running:
                    job.failed = f"{type(exc).__name__}: {exc}"
                    _tell(job, job.events.put_nowait, None)
                self.running.clear()
                self.batch = Batch(self.model, self.eos_id, self.pad_id)
            self._gauges()

    def _admit(self) -> list[Job]:
        """Waiting jobs, in order, whose rows fit beside the running ones (lock held)."""
        room = self.max_batch - len(self.batch.rows)
        joining = []
        while self.waiting and (self.waiting[0].cancelled or len(self.waiting[0].rows) <= room):
            job = self.waiting.popleft()
            if not job.cancelled:
                room -= len(job.rows)
                joining.append(job)
                self.running[job] = None
        return joining

    def _drop_cancelled(self) -> None:
        gone = [job for job in self.running if job.cancelled]
        if gone:
            rows = [row for row in self.batch.rows if row.owner in set(gone)]
            self.batch.drop(rows)
            for job in gone:
                del self.running[job]
                _tell(job, job.events.put_nowait, None)
            if self.metrics:  # after the rows left: a watcher sees both at once
                self.metrics.abandoned.inc(len(rows))

    def _step(self) -> None:
        if not self.batch.rows:
            return
        if self.metrics:
            self.metrics.batch_rows.observe(len(self.batch.rows))
        per_job: dict[Job, list] = {}
        for row, token in self.batch.step():
            job = row.owner
            per_job.setdefault(job, []).append((job.rows.index(row), token, row.done))
        for job, events in per_job.items():
            _tell(job, job.events.put_nowait, events)
            if all(row.done for row in job.rows):
                self.running.pop(job, None)
        if self.metrics:
            self.metrics.tokens.inc(sum(len(e) for e in per_job.values()))

    def _gauges(self) -> None:
        if self.metrics:
            self.metrics.queue_depth.set(len(self.waiting))
            self.metrics.active_rows.set(len(self.batch.rows))


def _tell(job: Job, fn, *args) -> None:
    """Run ``fn(*args)`` on the job's event loop; a closed loop means nobody waits: cancel."""
    try:
        job.loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        job.cancelled = True
