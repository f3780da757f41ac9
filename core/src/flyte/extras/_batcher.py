"""``DynamicBatcher`` / ``TokenBatcher``: many concurrent producers, one batched async function.

Producers ``await batcher.submit(record)`` and get a future; an assembler collects records into
batches bounded by a cost budget (``target_batch_cost``), a size cap (``max_batch_size``) and a
wait (``batch_timeout_s``), and a runner feeds each batch to ``process_fn``, which returns one
result per record, in order. Everything is asyncio in this process: nothing to install, nothing
remote. A batch whose function raises fails the futures of its records with that error; the
batcher keeps serving the next batches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Generic, List, Optional, Protocol, Sequence, Tuple, TypeVar, runtime_checkable

from flyte.errors import ValidationError

__all__ = [
    "BatchStats",
    "CostEstimator",
    "CostEstimatorFn",
    "DynamicBatcher",
    "InferenceFn",
    "ProcessFn",
    "Prompt",
    "TokenBatcher",
    "TokenEstimator",
    "TokenEstimatorFn",
]

logger = logging.getLogger("flyte")

RecordT = TypeVar("RecordT")
ResultT = TypeVar("ResultT")

ProcessFn = Callable[[List[Any]], Awaitable[List[Any]]]
"""``async def fn(batch: list[Record]) -> list[Result]``, results in the order of the batch."""
InferenceFn = ProcessFn
"""The same as :data:`ProcessFn`, named for inference."""
CostEstimatorFn = Callable[[Any], int]
"""``fn(record) -> int``: the cost of one record."""
TokenEstimatorFn = CostEstimatorFn
"""The same as :data:`CostEstimatorFn`, named for tokens."""


@runtime_checkable
class CostEstimator(Protocol):
    """A record that knows its own cost (``estimate_cost()``), used when ``submit`` is given none."""

    def estimate_cost(self) -> int: ...


@runtime_checkable
class TokenEstimator(Protocol):
    """A record that knows its own token count (``estimate_tokens()``), for :class:`TokenBatcher`."""

    def estimate_tokens(self) -> int: ...


@dataclass
class BatchStats:
    """What a batcher has done so far (``batcher.stats``)."""

    total_submitted: int = 0
    total_completed: int = 0
    total_batches: int = 0
    total_batch_cost: int = 0
    avg_batch_size: float = 0.0
    avg_batch_cost: float = 0.0
    busy_time_s: float = 0.0
    idle_time_s: float = 0.0

    @property
    def utilization(self) -> float:
        """The share of time spent inside the processing function (0.0 to 1.0)."""
        total = self.busy_time_s + self.idle_time_s
        return self.busy_time_s / total if total > 0 else 0.0


@dataclass
class Prompt:
    """A text prompt that estimates its tokens as about four characters each."""

    text: str

    def estimate_tokens(self) -> int:
        """About one token per four characters, at least one."""
        return len(self.text) // 4 + 1


_Item = Tuple[Any, int, "asyncio.Future[Any]"]
_STOP = object()


def _positive_int(name: str, value: Any, owner: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(name, value, f"an integer >= {minimum}", owner=owner)
    return value


class DynamicBatcher(Generic[RecordT, ResultT]):
    """Batch records from many concurrent producers through one async function.

    Args:
        process_fn: ``async def fn(batch) -> results``, one result per record, in order.
        cost_estimator: ``fn(record) -> int``; else ``record.estimate_cost()``, else ``default_cost``.
        target_batch_cost: A batch is sent once its records' costs reach this budget.
        max_batch_size: At most this many records per batch.
        min_batch_size: Wait for at least this many records, unless stopping.
        batch_timeout_s: The longest a batch waits to fill once its first record arrived.
        max_queue_size: Submitted records waiting to be batched; ``submit`` waits when full.
        prefetch_batches: Batches assembled ahead of the one being processed.
        default_cost: The cost of a record nothing else estimates.

    Use it as ``async with DynamicBatcher(process_fn=fn) as b: fut = await b.submit(x)``, or
    call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        process_fn: ProcessFn,
        *,
        cost_estimator: Optional[CostEstimatorFn] = None,
        target_batch_cost: int = 32_000,
        max_batch_size: int = 256,
        min_batch_size: int = 1,
        batch_timeout_s: float = 0.05,
        max_queue_size: int = 5_000,
        prefetch_batches: int = 2,
        default_cost: int = 1,
    ):
        owner = type(self).__name__
        if not callable(process_fn):
            raise ValidationError("process_fn", process_fn, "an async function taking a list of records", owner=owner)
        if cost_estimator is not None and not callable(cost_estimator):
            raise ValidationError("cost_estimator", cost_estimator, "None or a function record -> int", owner=owner)
        self._process_fn = process_fn
        self._cost_estimator = cost_estimator
        self._target_batch_cost = _positive_int("target_batch_cost", target_batch_cost, owner)
        self._max_batch_size = _positive_int("max_batch_size", max_batch_size, owner)
        self._min_batch_size = _positive_int("min_batch_size", min_batch_size, owner)
        if self._min_batch_size > self._max_batch_size:
            raise ValidationError("min_batch_size", min_batch_size, f"at most max_batch_size ({max_batch_size})", owner=owner)
        if isinstance(batch_timeout_s, bool) or not isinstance(batch_timeout_s, (int, float)) or batch_timeout_s < 0:
            raise ValidationError("batch_timeout_s", batch_timeout_s, "a number of seconds >= 0", owner=owner)
        self._batch_timeout_s = float(batch_timeout_s)
        self._max_queue_size = _positive_int("max_queue_size", max_queue_size, owner)
        self._prefetch_batches = _positive_int("prefetch_batches", prefetch_batches, owner)
        self._default_cost = _positive_int("default_cost", default_cost, owner, minimum=0)
        self._stats = BatchStats()
        self._running = False
        self._queue: Optional[asyncio.Queue] = None
        self._batches: Optional[asyncio.Queue] = None
        self._tasks: List[asyncio.Task] = []

    @property
    def stats(self) -> BatchStats:
        """The running statistics."""
        return self._stats

    @property
    def is_running(self) -> bool:
        """Whether the batcher accepts records."""
        return self._running

    async def start(self) -> None:
        """Start assembling and processing batches; a ``RuntimeError`` if already running."""
        if self._running:
            raise RuntimeError(f"{type(self).__name__} is already running")
        # Queues belong to the loop that runs the batcher, so they are made here, not in __init__.
        self._queue = asyncio.Queue(maxsize=self._max_queue_size)
        self._batches = asyncio.Queue(maxsize=self._prefetch_batches)
        self._running = True
        self._tasks = [
            asyncio.create_task(self._assemble(), name=f"{type(self).__name__}-assemble"),
            asyncio.create_task(self._process(), name=f"{type(self).__name__}-process"),
        ]

    async def stop(self) -> None:
        """Process every record already submitted, then stop. Cancelling ``stop`` cancels the
        batcher: records not yet processed get their futures cancelled."""
        if not self._running:
            return
        self._running = False
        assert self._queue is not None
        try:
            await self._queue.put(_STOP)
            await asyncio.gather(*self._tasks)
        except BaseException:
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._cancel_pending()
            raise
        finally:
            self._tasks = []

    async def __aenter__(self) -> "DynamicBatcher[RecordT, ResultT]":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    def _estimate_cost(self, record: Any, override: Optional[int]) -> int:
        if override is not None:
            return override
        if self._cost_estimator is not None:
            return self._cost_estimator(record)
        if isinstance(record, CostEstimator):
            return record.estimate_cost()
        return self._default_cost

    async def submit(self, record: RecordT, *, estimated_cost: Optional[int] = None) -> "asyncio.Future[ResultT]":
        """Queue one record; the future resolves to its result once its batch ran.

        Waits while the queue is full (backpressure). A ``RuntimeError`` when not running.
        """
        if not self._running or self._queue is None:
            raise RuntimeError(f"{type(self).__name__} is not running; use 'async with' or call start() first")
        cost = self._estimate_cost(record, estimated_cost)
        if isinstance(cost, bool) or not isinstance(cost, int) or cost < 0:
            raise ValidationError("estimated_cost", cost, "an integer >= 0", owner=f"{type(self).__name__}.submit")
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        await self._queue.put((record, cost, future))
        self._stats.total_submitted += 1
        return future

    async def submit_batch(
        self, records: Sequence[RecordT], *, estimated_cost: Optional[Sequence[int]] = None
    ) -> "List[asyncio.Future[ResultT]]":
        """Queue several records (with optional per-record costs); one future each."""
        if estimated_cost is not None and len(estimated_cost) != len(records):
            raise ValidationError(
                "estimated_cost", f"{len(estimated_cost)} costs", f"one cost per record ({len(records)})",
                owner=f"{type(self).__name__}.submit_batch",
            )
        return [
            await self.submit(r, estimated_cost=None if estimated_cost is None else estimated_cost[i])
            for i, r in enumerate(records)
        ]

    # -- the two loops ------------------------------------------------------------------------
    async def _assemble(self) -> None:
        assert self._queue is not None and self._batches is not None
        queue, batches = self._queue, self._batches
        batch: List[_Item] = []
        while True:
            # Block for the first record of a batch, or for the next one of a batch still below
            # min_batch_size (never a polling loop).
            item = await queue.get()
            if item is _STOP:
                break
            batch.append(item)
            cost = sum(i[1] for i in batch)
            deadline = time.monotonic() + self._batch_timeout_s
            stopping = False
            while cost < self._target_batch_cost and len(batch) < self._max_batch_size:
                remaining = deadline - time.monotonic()
                try:
                    item = queue.get_nowait() if remaining <= 0 else await asyncio.wait_for(queue.get(), remaining)
                except (asyncio.QueueEmpty, asyncio.TimeoutError):
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.append(item)
                cost += item[1]
            if stopping:
                break
            if len(batch) < self._min_batch_size:
                continue
            await batches.put(batch)
            batch = []
        if batch:  # stopping: what is left goes out whatever its size
            await batches.put(batch)
        await batches.put(_STOP)

    async def _process(self) -> None:
        assert self._batches is not None
        idle_since = time.monotonic()
        while True:
            batch = await self._batches.get()
            started = time.monotonic()
            self._stats.idle_time_s += started - idle_since
            if batch is _STOP:
                return
            records = [i[0] for i in batch]
            try:
                results = await self._process_fn(records)
                if not isinstance(results, (list, tuple)) or len(results) != len(records):
                    got = len(results) if isinstance(results, (list, tuple)) else type(results).__name__
                    raise ValidationError(
                        "process_fn result", got, f"a list of {len(records)} results, one per record, in order",
                        owner=type(self).__name__,
                    )
                for (_, _, fut), result in zip(batch, results):
                    if not fut.done():
                        fut.set_result(result)
            except Exception as e:  # the batch's records fail; the batcher goes on
                logger.warning("%s: a batch of %d records failed: %s", type(self).__name__, len(records), e)
                for _, _, fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
            idle_since = time.monotonic()
            s = self._stats
            s.busy_time_s += idle_since - started
            s.total_batches += 1
            s.total_completed += len(batch)
            s.total_batch_cost += sum(i[1] for i in batch)
            s.avg_batch_size = s.total_completed / s.total_batches
            s.avg_batch_cost = s.total_batch_cost / s.total_batches

    def _cancel_pending(self) -> None:
        for q in (self._queue, self._batches):
            while q is not None and not q.empty():
                item = q.get_nowait()
                items = item if isinstance(item, list) else [item]
                for i in items:
                    if isinstance(i, tuple) and not i[2].done():
                        i[2].cancel()


class TokenBatcher(DynamicBatcher[RecordT, ResultT]):
    """A :class:`DynamicBatcher` for inference, with token-named parameters: ``inference_fn``,
    ``token_estimator``, ``target_batch_tokens``, ``default_token_estimate``; records may
    implement ``estimate_tokens()`` (:class:`TokenEstimator`, e.g. :class:`Prompt`)."""

    def __init__(
        self,
        inference_fn: Optional[ProcessFn] = None,
        *,
        process_fn: Optional[ProcessFn] = None,
        token_estimator: Optional[TokenEstimatorFn] = None,
        cost_estimator: Optional[CostEstimatorFn] = None,
        target_batch_tokens: Optional[int] = None,
        target_batch_cost: int = 32_000,
        default_token_estimate: Optional[int] = None,
        default_cost: int = 1,
        max_batch_size: int = 256,
        min_batch_size: int = 1,
        batch_timeout_s: float = 0.05,
        max_queue_size: int = 5_000,
        prefetch_batches: int = 2,
    ):
        fn = inference_fn or process_fn
        if fn is None:
            raise TypeError("TokenBatcher needs inference_fn (or process_fn): the async function that runs a batch")
        super().__init__(
            fn,
            cost_estimator=token_estimator or cost_estimator,
            target_batch_cost=target_batch_tokens if target_batch_tokens is not None else target_batch_cost,
            max_batch_size=max_batch_size,
            min_batch_size=min_batch_size,
            batch_timeout_s=batch_timeout_s,
            max_queue_size=max_queue_size,
            prefetch_batches=prefetch_batches,
            default_cost=default_token_estimate if default_token_estimate is not None else default_cost,
        )

    def _estimate_cost(self, record: Any, override: Optional[int]) -> int:
        if override is None and self._cost_estimator is None and isinstance(record, TokenEstimator):
            return record.estimate_tokens()
        return super()._estimate_cost(record, override)

    async def submit(  # type: ignore[override]
        self, record: RecordT, *, estimated_tokens: Optional[int] = None, estimated_cost: Optional[int] = None
    ) -> "asyncio.Future[ResultT]":
        """Queue one record; ``estimated_tokens`` (or ``estimated_cost``) overrides its estimate."""
        return await super().submit(record, estimated_cost=estimated_tokens if estimated_tokens is not None else estimated_cost)
