"""Continuous batching: every song in flight is one row of a shared lyrics_gpt2.inference.sampler.Batch.

    engine = Engine(model, tokenizer, max_batch=32, max_queue=64)
    engine.start()                       # the sampling thread
    job = engine.submit(rows)            # Rejected(429) when the queue is full
    await job.admitted(timeout=30)       # Rejected(503) when it waited longer
    async for index, token, done, logprobs in job.tokens(): ...
    engine.finish(job, index)            # a row hit a stop string: it leaves at the next step

One thread owns the model and loops: admit waiting jobs while their rows fit in ``max_batch``
(they join at the next step), drop rows whose job was cancelled (a client went away), run one
step, and hand each job its new tokens on its event loop (with the model's log-probabilities of
the token and of the top-N candidates when the job asked for ``logprobs``: computed before the
penalties and warpers change the logits, as vLLM reports them). A job's rows all join together, so a
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
    logprobs: int | None = None  # top-N log-probabilities per token wanted (None: none)
    stopped: set[int] = field(default_factory=set)  # rows ended early (a stop string)
    refused: Rejected | None = None  # set instead of joining (the server is shutting down)

    def __post_init__(self) -> None:
        self.index = {id(row): i for i, row in enumerate(self.rows)}
        self.ended: set[int] = set()  # rows whose last token the caller has received

    def finished(self) -> bool:
        """Every row's last token was handed over (or the row was stopped): caller's side."""
        return len(self.ended | self.stopped) == len(self.rows)

    def sampled(self) -> bool:
        """Every row is done or stopped: the sampling thread's side."""
        return all(row.done or i in self.stopped for i, row in enumerate(self.rows))

    async def admitted(self, timeout: float) -> None:
        """Wait until the rows joined the batch; cancel and raise 503 after ``timeout`` s."""
        try:
            await asyncio.wait_for(self.started.wait(), timeout)
            if self.refused:
                raise self.refused
        except asyncio.TimeoutError:
            self.cancelled = True
            raise Rejected(
                503, f"waited {timeout:g} s in the queue; try again later", retry_after=5
            ) from None

    async def tokens(self):
        """(row index, token, row done, logprobs or None) as the rows are sampled, until every
        row is done or stopped; logprobs = (the token's, [(id, logprob) of the top N])."""
        while not self.finished():
            events = await self.events.get()
            if events is None:  # dropped (cancelled), ended by a shutdown, or the sampler failed
                if self.refused:
                    raise self.refused
                if self.failed:
                    raise Rejected(
                        500, f"sampling failed ({self.failed}); the server keeps running"
                    )
                return
            for event in events:
                if event[0] not in self.stopped:
                    if event[2]:
                        self.ended.add(event[0])
                    yield event


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
        self.deadline: float | None = None  # set by drain(): when running rows are ended

    # -- request side (event loop thread) ------------------------------------------------------
    def submit(self, rows: list[Row], logprobs: int | None = None) -> Job:
        job = Job(rows, asyncio.get_running_loop(), logprobs=logprobs)
        for row in rows:
            row.owner = job
        with self.wake:
            if self.deadline is not None:
                raise Rejected(503, SHUTTING_DOWN, retry_after=1)
            if len(self.waiting) >= self.max_queue:
                raise Rejected(
                    429, f"{len(self.waiting)} requests already waiting; try again", retry_after=1
                )
            self.waiting.append(job)
            self.wake.notify()
        self._gauges()
        return job

    def finish(self, job: Job, index: int) -> None:
        """End row ``index`` of ``job`` now (its text reached a stop string)."""
        job.stopped.add(index)
        with self.wake:
            self.wake.notify()

    def drain(self, seconds: float) -> None:
        """The server is stopping: refuse new and waiting requests (503) now, let running rows
        go on for ``seconds``, then end them (their callers get 503: an error event in a
        stream). Safe to call from any thread, not from a signal handler (it takes the lock)."""
        with self.wake:
            self.deadline = time.monotonic() + seconds
            while self.waiting:
                job = self.waiting.popleft()
                job.refused = Rejected(503, SHUTTING_DOWN, retry_after=1)
                _tell(job, job.started.set)
            self.wake.notify()

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
                if self.deadline is not None and time.monotonic() >= self.deadline:
                    self._end_all()
                    continue
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

    def _end_all(self) -> None:
        """The drain is over: every running job ends now with 503 (lock held)."""
        for job in self.running:
            job.refused = Rejected(503, "the server shut down before this finished; try again", 1)
            _tell(job, job.events.put_nowait, None)
        self.running.clear()
        self.batch = Batch(self.model, self.eos_id, self.pad_id)

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
        stopped = [r for r in self.batch.rows if r.owner.index[id(r)] in r.owner.stopped]
        if stopped:
            self.batch.drop(stopped)
            for job in {r.owner for r in stopped}:
                if job.sampled():
                    self.running.pop(job, None)
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
        top = self._logprobs()
        per_job: dict[Job, list] = {}
        for row, token in self.batch.step():
            job = row.owner
            lp = None
            if top is not None and job.logprobs is not None:
                logprobs, ids, vals = top[id(row)]
                n = job.logprobs
                lp = (float(logprobs[token]), list(zip(ids[:n], vals[:n], strict=True)))
            per_job.setdefault(job, []).append((job.index[id(row)], token, row.done, lp))
        for job, events in per_job.items():
            _tell(job, job.events.put_nowait, events)
            if job.sampled():
                self.running.pop(job, None)
        if self.metrics:
            self.metrics.tokens.inc(sum(len(e) for e in per_job.values()))

    def _logprobs(self) -> dict | None:
        """{row: (log-probabilities [V], top ids, top values)} of the rows about to draw, for
        jobs that asked; None when none did. Taken before step(): the penalties change the
        logits in place."""
        wanted = [r.owner.logprobs for r in self.batch.rows if r.owner.logprobs is not None]
        if not wanted:
            return None
        logprobs = torch.log_softmax(self.batch.logits.float(), dim=-1)
        vals, ids = logprobs.topk(max(max(wanted), 1), dim=-1)
        ids, vals = ids.tolist(), vals.tolist()
        return {id(r): (logprobs[i], ids[i], vals[i]) for i, r in enumerate(self.batch.rows)}

    def _gauges(self) -> None:
        if self.metrics:
            self.metrics.queue_depth.set(len(self.waiting))
            self.metrics.active_rows.set(len(self.batch.rows))


SHUTTING_DOWN = "the server is shutting down; try again (another replica, or shortly)"


def _tell(job: Job, fn, *args) -> None:
    """Run ``fn(*args)`` on the job's event loop; a closed loop means nobody waits: cancel."""
    try:
        job.loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        job.cancelled = True
