"""The errors a user can cause, and the exit code the command line answers each with.

Scope: :class:`TsganUserError`, the one base of every error a user can cause
(a setting, a flag, a file or folder, a dataset, a run folder, a failed
write), and the two generic kinds that have no better home
(:class:`UsageError`, :class:`MissingFileError`). The other kinds live beside
the code that raises them and keep their standard base, so an ``except
ValueError`` written before still catches them:

=====  ============================================  =======================================================
code   what went wrong                               raised as
=====  ============================================  =======================================================
2      a setting or a command-line flag              ``ConfigError`` (train/settings.py), :class:`UsageError`
3      a file or folder is missing or unreadable     :class:`MissingFileError`, ``FileFormatError`` (files.py),
                                                     ``PretrainedWeightsError`` (models/backbone.py)
4      a dataset is missing or damaged               ``DatasetError`` (data/records.py), ``ImageCacheError``
5      the run folder is busy or holds another run   ``RunFolderBusy``, ``RunMismatch`` (files.py)
6      a file could not be written                   ``FileWriteError`` (files.py): full disk, read-only folder
7      training diverged (non-finite losses)         ``NonFiniteLossError`` (train/loop.py)
=====  ============================================  =======================================================

Each message names the setting or file, what was found and what was
expected. The command line prints it on one line (``tsgan --debug ...`` adds
the traceback); a notebook shows the same line (IPython calls
``_render_traceback_``; ``TSGAN_DEBUG=1`` brings the traceback back). Any
other exception is a bug and keeps its traceback (Python exits with 1).
Nothing here imports more than the standard library.
"""

from __future__ import annotations

import os

USAGE, MISSING_FILE, DATASET, RUN_FOLDER, WRITE_FAILED, DIVERGED = 2, 3, 4, 5, 6, 7
#: A stop request (Ctrl-C, SIGTERM): the run checkpointed where it was; the same command resumes it.
INTERRUPTED = 130


def debugging() -> bool:
    """``TSGAN_DEBUG`` is set (to anything but 0 or empty): show tracebacks of user errors too."""
    return os.environ.get("TSGAN_DEBUG", "") not in ("", "0")


class TsganUserError(Exception):
    """An error the user can fix: its message says what was found and what was expected."""

    exit_code = USAGE

    @property
    def user_message(self) -> str:
        """The message alone (an ``OSError``'s text without its ``[Errno N]`` prefix)."""
        if isinstance(self, OSError) and self.strerror and self.errno is not None:
            return self.strerror
        return str(self)

    @property
    def _render_traceback_(self):
        """IPython and Jupyter show what this returns instead of the traceback: the one line."""
        if debugging():
            raise AttributeError("_render_traceback_")  # the ordinary traceback
        return lambda: [f"{type(self).__name__}: {self.user_message}"]


class UsageError(ValueError, TsganUserError):
    """A command-line flag has an impossible value or contradicts another one."""

    exit_code = USAGE


class MissingFileError(FileNotFoundError, TsganUserError):
    """A file or folder the user named (or a run should hold) is not there, or is not what it should be."""

    exit_code = MISSING_FILE
