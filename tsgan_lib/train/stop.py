"""Stop requests: Ctrl-C and SIGTERM are honoured where a run can stop cleanly, and never lost.

One :class:`StopRequest` is active per process at a time. :func:`~tsgan_lib.train.trainer.train`,
:func:`~tsgan_lib.train.trainer.run` and :func:`~tsgan_lib.train.trainer.run_trials` install
it around the whole run, and every fit loop inside shares it (entering a
``StopRequest()`` while one is active returns the active one). While it is
active, SIGINT (Ctrl-C, Jupyter's interrupt) and SIGTERM only set
``requested``, and the run stops at the next of these places:

- inside a fit loop, after the step in flight, with a checkpoint written
  first (:mod:`tsgan_lib.train.loop`);
- at every boundary between phases, through :meth:`StopRequest.check`: the
  teacher phase -> Algorithm 1 -> the test, and between RegDB trials (each
  phase has saved its result by then);
- during the test, at once (:meth:`StopRequest.immediate`): nothing is lost,
  the test runs again.

Each stop raises :class:`Stopped` (a ``KeyboardInterrupt``), whose one-line
message says where the run stopped and how to resume; the command line
prints it and exits with 130. A second signal stops at once.
"""

from __future__ import annotations

import contextlib
import signal

import torch

from tsgan_lib.errors import debugging

from .distributed import Dist, any_rank


class Stopped(KeyboardInterrupt):
    """A run stopped on request; the message says where and how to resume."""

    def __init__(self, where: str, signame: str | None = None) -> None:
        self.where, self.signame = where, signame
        super().__init__(f"stopped ({signame or 'interrupted'}) {where}; run the same command again to resume")

    def __reduce__(self):
        return type(self), (self.where, self.signame)

    @property
    def _render_traceback_(self):
        """IPython and Jupyter show the one line instead of the traceback (``TSGAN_DEBUG=1``: the traceback)."""
        if debugging():
            raise AttributeError("_render_traceback_")
        return lambda: [str(self)]


class StopRequest:
    """A context in which SIGINT (Ctrl-C, Jupyter's interrupt) and SIGTERM only
    set ``requested``; a second signal raises :class:`Stopped` at once. Re-entrant:
    inside an active one, ``with StopRequest() as stop`` gives the active one."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    _active: StopRequest | None = None

    def __init__(self) -> None:
        self.requested = False
        self.signame: str | None = None
        self._previous: dict = {}
        self._outer: StopRequest | None = None
        self._at_once: str | None = None

    def _handler(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        if self._at_once is not None:
            raise Stopped(self._at_once, name)
        if self.requested:
            raise Stopped("at once, by a second signal (the last checkpoint is kept)", name)
        self.requested, self.signame = True, name

    def __enter__(self) -> StopRequest:
        if StopRequest._active is not None:
            self._outer = StopRequest._active
            return self._outer
        for sig in self.SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread: no handler, signals behave as usual
                pass
        if self._previous:
            StopRequest._active = self
        return self

    def __exit__(self, *exc) -> None:
        if self._outer is not None:
            self._outer = None
            return
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous = {}
        if StopRequest._active is self:
            StopRequest._active = None

    def check(self, where: str, dist: Dist = Dist(), device: torch.device | str = "cpu") -> None:
        """At a phase boundary: raise :class:`Stopped` if a stop was requested (on any rank)."""
        if any_rank(self.requested, dist, torch.device(device)):
            raise Stopped(where, self.signame or "on another rank")

    @contextlib.contextmanager
    def immediate(self, where: str):
        """A phase that loses nothing when cut short (the test): a signal inside it stops at once."""
        if self.requested:  # arrived since the last check
            raise Stopped(where, self.signame)
        previous, self._at_once = self._at_once, where
        try:
            yield
        finally:
            self._at_once = previous
