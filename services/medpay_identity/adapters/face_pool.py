"""The face engine in worker processes, so inference never stalls the gRPC event loop.

dlib's descriptor holds the GIL for ~90-100 ms per call, so a thread would still freeze
the loop; a ``ProcessPoolExecutor`` (spawn context: no forked gRPC or database state) runs
:class:`~medpay_identity.adapters.dlib_engine.DlibFaceEngine` instead, built once per
worker by the initializer. :meth:`FacePool.start` submits one warm-up call per worker and
is awaited before the service reports healthy. Workers ignore SIGINT (the service stops
them) and exit on their own if the service process dies. A crashed worker breaks the
pool: it is rebuilt and the call fails with ``UNAVAILABLE`` (safe to retry).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import structlog

from medpay_identity.domain.face import FaceObservation
from medpay_kit.errors import DomainError

log = structlog.get_logger()

_engine: Any = None  # the worker process's engine, set by _init_worker


def _init_worker(engine_options: dict[str, Any], parent_pid: int) -> None:
    global _engine
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from medpay_identity.adapters.dlib_engine import DlibFaceEngine

    _engine = DlibFaceEngine(**engine_options)
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _warm() -> int:
    _engine.warm_up()
    return os.getpid()


def _analyse(image: bytes) -> tuple[Any, ...]:
    """Runs in a worker; plain tuples cross the process boundary (DomainError does not pickle)."""
    try:
        obs = _engine.analyse(image)
    except DomainError as err:
        return ("refused", err.reason, err.message, err.metadata)
    return ("ok", obs.embedding, obs.landmarks, obs.box)


class FacePool:
    """Async face analysis on a pool of engine processes."""

    def __init__(self, workers: int, **engine_options: Any) -> None:
        if workers < 1:
            raise ValueError("at least one face worker")
        self.workers = workers
        self._options = engine_options
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(self._options, os.getpid()))

    async def start(self) -> None:
        """Start every worker, load its models and run them once."""
        started = time.perf_counter()
        pids = await asyncio.gather(*(self._run(_warm) for _ in range(self.workers)))
        log.info("face_workers_ready", workers=len(set(pids)),
                 seconds=round(time.perf_counter() - started, 2))

    async def analyse(self, image: bytes) -> FaceObservation:
        """The one face in ``image``, or the engine's refusal raised as a DomainError."""
        result = await self._analyse(image)
        if isinstance(result, DomainError):
            raise result
        return result

    async def analyse_frames(self, frames: Sequence[bytes]) -> list[FaceObservation | DomainError]:
        """Every frame analysed (in parallel when there are several workers), refusals kept."""
        return list(await asyncio.gather(*(self._analyse(f) for f in frames)))

    async def _analyse(self, image: bytes) -> FaceObservation | DomainError:
        out = await self._run(_analyse, image)
        if out[0] == "refused":
            return DomainError(out[1], out[2], **out[3])
        return FaceObservation(embedding=out[1], landmarks=out[2], box=out[3])

    async def _run(self, fn: Any, *args: Any) -> Any:
        # A caller cancelled meanwhile only stops waiting: a frame not yet started is dropped
        # (the executor future is cancelled with it), one in a worker is finished and its
        # result discarded. No worker or queue slot stays taken, nothing else is held.
        executor = self._executor
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)
        except BrokenProcessPool:
            if executor is self._executor:
                log.error("face_worker_crashed", workers=self.workers)
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            raise DomainError("UNAVAILABLE", "the face engine restarted; retry the call") from None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
