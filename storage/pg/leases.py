"""Leases on PostgreSQL: which daemon of a fleet runs which job right now (#22).

A lease is a row with an expiry on the server's clock, taken, renewed and released by one
statement each (autocommit). Each statement updates the row only if its condition still holds
under the row's lock, so two daemons taking one job at once serialise for a few microseconds
and the second finds the first's lease. Nothing stays locked while the job runs: no
transaction is open across minutes of network fetching (it would hold back vacuum, and only
the connection's death would end it), and a daemon that dies leaves a lease that expires.
Expiry compares with ``now()`` of the server, so daemons on machines whose clocks disagree
still agree on who holds what.

A job is due for the daemon that ran it last at once (its own scheduler paces it), and for
the others once nobody started it within ``every``: a source stays with the daemon that
collects it, at the pace of one scheduler, and goes to another when that daemon is late by a
whole interval (busy or dead). Each holding is logged in ``lease_log``, kept as long as runs.
"""

from __future__ import annotations

from datetime import timedelta

from storage.pg.connection import PgConnection
from storage.runs import RUNS_KEPT

__all__ = ["PgLeases"]

_TAKE = """
WITH taken AS (
    INSERT INTO leases AS l (job, holder, taken_at, held_until, log_id)
    VALUES (%(job)s, %(holder)s, now(), now() + %(ttl)s, nextval(pg_get_serial_sequence('lease_log', 'id')))
    ON CONFLICT (job) DO UPDATE
        SET holder = excluded.holder, taken_at = excluded.taken_at,
            held_until = excluded.held_until, log_id = excluded.log_id
        WHERE (l.held_until IS NULL OR l.held_until <= now())
          AND (l.holder = excluded.holder OR l.taken_at <= now() - %(every)s)
    RETURNING job, holder, taken_at, held_until, log_id
)
INSERT INTO lease_log (id, job, holder, taken_at, held_until)
SELECT log_id, job, holder, taken_at, held_until FROM taken
RETURNING id
"""

# A lease past its expiry that nobody took is still the holder's: renewing it is safe.
_RENEW = """
WITH renewed AS (
    UPDATE leases SET held_until = now() + %(ttl)s
    WHERE job = %(job)s AND holder = %(holder)s AND held_until IS NOT NULL
    RETURNING log_id, held_until
)
UPDATE lease_log g SET held_until = r.held_until FROM renewed r WHERE g.id = r.log_id
RETURNING g.id
"""

# The job's holdings older than the runs kept go as it is released (an index range: lease_log_job).
_RELEASE = """
WITH released AS (
    UPDATE leases SET held_until = NULL
    WHERE job = %(job)s AND holder = %(holder)s AND held_until IS NOT NULL
    RETURNING log_id
), logged AS (
    UPDATE lease_log g SET released_at = now() FROM released r WHERE g.id = r.log_id
)
DELETE FROM lease_log WHERE job = %(job)s AND taken_at < now() - %(kept)s
"""


class PgLeases:
    """``storage.interfaces.LeaseStore`` on a PostgreSQL connection."""

    def __init__(self, conn: PgConnection) -> None:
        self.conn = conn

    def take(self, job: str, holder: str, ttl: timedelta, every: timedelta = timedelta(0)) -> bool:
        params = {"job": job, "holder": holder, "ttl": ttl, "every": every}
        return self.conn.execute(_TAKE, params).fetchone() is not None

    def renew(self, job: str, holder: str, ttl: timedelta) -> bool:
        params = {"job": job, "holder": holder, "ttl": ttl}
        return self.conn.execute(_RENEW, params).fetchone() is not None

    def release(self, job: str, holder: str) -> None:
        self.conn.execute(_RELEASE, {"job": job, "holder": holder, "kept": RUNS_KEPT})
