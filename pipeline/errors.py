"""Errors the user can act on.

Every failure caused by input, options or files on disk is raised as a
``PipelineError``: the command line prints its message (which names the file,
the problem and what to do) and exits with status 2, without a traceback.
"""

from __future__ import annotations


class PipelineError(Exception):
    """A problem the user can fix; the message says what and how."""


class InputError(PipelineError):
    """An input file is missing, unreadable, of an unknown format or unusable."""


class ConfigError(PipelineError):
    """An option has a value outside what it accepts."""


class MapFormatError(PipelineError):
    """A saved map is missing, corrupt, or written by another schema version."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for our messages;
    its type's name when it has no message."""
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__
