"""What a failed transaction becomes: a lost race as RetryableConflict (retried whole), an
unreachable or busy database as UNAVAILABLE, anything else as it is."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.errors import ApiError, ErrorCode

log = logging.getLogger(__name__)

# PostgreSQL's deadlock and serialization failures: the transaction is retried whole.
RETRYABLE_SQLSTATES = {"40P01", "40001"}
# A row locked by another transaction, met with NOWAIT.
LOCK_NOT_AVAILABLE = "55P03"


class RetryableConflict(Exception):
    """A write lost a race with another writer; the whole transaction may be retried."""


@contextmanager
def translated_errors() -> Iterator[None]:
    """A unique-key collision (retried by ``Database.run``) is raised as it is."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        if _lost_race(exc):
            raise RetryableConflict(str(exc.orig)) from exc
        if isinstance(exc, OperationalError):
            raise unavailable(exc) from exc
        raise


def _lost_race(exc: DBAPIError) -> bool:
    return _sqlstate(exc) in RETRYABLE_SQLSTATES


def row_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is PostgreSQL refusing to wait for a row another transaction holds."""
    return isinstance(exc, DBAPIError) and _sqlstate(exc) == LOCK_NOT_AVAILABLE


def _sqlstate(exc: DBAPIError) -> str | None:
    code = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    return None if code is None else str(code)


def unavailable(exc: BaseException) -> ApiError:
    log.warning("database unavailable: %s", exc)
    return ApiError(
        ErrorCode.UNAVAILABLE,
        "The database is busy or unreachable; retry shortly.",
        [{"type": "RetryInfo", "retry_after": 1}],
        headers={"Retry-After": "1"},
    )
