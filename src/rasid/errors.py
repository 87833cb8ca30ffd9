"""Errors meant for people: each names the file and record that is wrong."""

from __future__ import annotations


class RasidError(Exception):
    """Base class for every error rasid raises on purpose (the CLI prints it as one line)."""


class RasidDataError(RasidError):
    """Bad input data, located: `data/x.jsonl, line 17 (article a1): entity 'e4' ends at ...`."""

    def __init__(self, message: str, path: str | None = None, record: str | None = None):
        self.path = path
        self.record = record
        self.detail = message
        where = ", ".join(str(p) for p in (path, record) if p)
        super().__init__(f"{where}: {message}" if where else message)


class RasidConfigError(RasidError):
    """A config, schema or model folder that cannot be used as given."""
