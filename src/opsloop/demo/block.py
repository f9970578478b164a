"""A block of user-days being turned into events: its sessions, the events drawn into them,
and their final layout as an Arrow table in the event store's columns.

Each active user-day gets one to three sessions. Behaviours add events tied to a session with an
ordering slot; lay_out sorts them by session and slot and spreads them in time from the session's
start, so every chain's order (view → cart → checkout → pay) holds to the microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from opsloop.demo import catalog as cat
from opsloop.demo import encode
from opsloop.demo.encode import JsonFields
from opsloop.demo.population import DAY_CLOSE, DAY_OPEN
from opsloop.demo.scenario import World
from opsloop.events.schema import EVENT_ARROW_SCHEMA

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

SESSION_MAX_SECONDS = 3500.0
MEAN_GAP_SECONDS = 25.0


@dataclass(slots=True)
class Block:
    """Sessions of a block of user-days and the events drawn into them so far."""

    world: World
    rng: np.random.Generator
    user: I64  # per user-day
    day: I64
    age: I64  # days since sign-up
    sessions: I64  # per user-day
    first_session: I64  # per user-day
    session_ud: I64  # per session: its user-day
    session_start: F64  # per session: local seconds after midnight
    kinds: list[I64] = field(default_factory=list)
    session_of: list[I64] = field(default_factory=list)
    slots: list[F64] = field(default_factory=list)
    props: list[pa.Array] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.user)

    def any_session(self, ud: I64) -> I64:
        """A session drawn at random among each user-day's sessions."""
        pick = np.floor(self.rng.random(len(ud)) * self.sessions[ud]).astype(np.int64)
        return self.first_session[ud] + pick

    def add(
        self, event: str, session: I64, slot: npt.ArrayLike, props: JsonFields | None = None
    ) -> None:
        n = len(session)
        self.kinds.append(np.full(n, cat.EV[event], dtype=np.int64))
        self.session_of.append(session)
        self.slots.append(np.asarray(slot, dtype=np.float64))
        self.props.append(encode.empty_strings(n) if props is None else props.build())


def open_block(world: World, user: I64, day: I64, rng: np.random.Generator) -> Block:
    pop = world.pop
    n = len(user)
    age = day - pop.signup_day[user]
    signup = age == 0
    opens = np.where(signup, pop.signup_tod[user].astype(np.float64), DAY_OPEN)
    span = DAY_CLOSE - opens
    # Sessions last under an hour and each gets a window of at least 1.5 hours: no overlap.
    most = np.maximum(1, np.floor(span / 5400)).astype(np.int64)
    sessions = np.minimum(1 + rng.binomial(2, np.where(pop.loyal[user], 0.35, 0.12)), most)
    first_session = np.cumsum(sessions) - sessions
    session_ud = np.repeat(np.arange(n), sessions)
    nth = np.arange(len(session_ud)) - first_session[session_ud]
    window = span[session_ud] / sessions[session_ud]
    start = opens[session_ud] + nth * window
    start += rng.random(len(start)) * (window - SESSION_MAX_SECONDS - 100)
    # The sign-up session starts at the sign-up time itself.
    start[first_session[signup]] = opens[signup]
    return Block(world, rng, user, day, age, sessions, first_session, session_ud, start)


def item_fields(world: World, item: I64) -> JsonFields:
    items = world.items
    return (
        JsonFields(len(item))
        .text("item_id", encode.numbered("sku", item + 10001, 5))
        .text("category", encode.vocab([c[0] for c in cat.CATEGORIES], items.category[item]))
        .raw("price", encode.yuan(items.price_cents[item]))
    )


def lay_out(b: Block, workspace_id: int) -> pa.Table:
    """Order the drawn events, give them timestamps, and build the table's columns."""
    world, rng = b.world, b.rng
    kinds = np.concatenate(b.kinds)
    session = np.concatenate(b.session_of)
    slot = np.concatenate(b.slots)
    props = pa.concat_arrays(b.props)
    n = len(kinds)
    order = np.lexsort((slot, session))
    s_session = session[order]
    # Events of a session are spread from its start with random gaps, squeezed under an hour.
    gaps = rng.exponential(MEAN_GAP_SECONDS, n) + 2.0
    elapsed = np.cumsum(gaps)
    first = np.searchsorted(s_session, np.arange(len(b.session_ud)))
    offset = elapsed - elapsed[first][s_session]
    last = np.append(first[1:], n) - 1
    total = offset[last]
    squeeze = np.minimum(1.0, SESSION_MAX_SECONDS / np.maximum(total, 1.0))
    local = b.session_start[s_session] + offset * squeeze[s_session]
    ud = b.session_ud[s_session]
    day = b.day[ud]
    starts = world.cal.day_start_us
    # Scale to the day's real length (23 or 25 hours on daylight-saving days elsewhere).
    day_len = (starts[day + 1] - starts[day]) / 86_400e6
    timestamp = starts[day] + np.floor(local * day_len * 1e6).astype(np.int64)
    by_time = np.argsort(timestamp, kind="stable")
    perm = order[by_time]
    timestamp = timestamp[by_time]
    received = timestamp + rng.integers(50_000, 3_000_000, n)
    user = pa.array(b.user[ud[by_time]])
    session_ids = encode.uuid_strings(rng, len(b.session_ud))
    sid = session_ids.take(pa.array(s_session[by_time]))
    properties = encode.join(
        [world.user_json.take(user), ',"$session_id":"', sid, '"', props.take(pa.array(perm)), "}"],
        n,
    )
    ts_type = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "uuid": encode.uuid_strings(rng, n),
            "workspace_id": pa.repeat(pa.scalar(workspace_id, pa.int32()), n),
            "event": encode.vocab(cat.EVENTS, kinds[perm]),
            "distinct_id": world.distinct_ids.take(user),
            "timestamp": pa.array(timestamp, ts_type),
            "received_at": pa.array(received, ts_type),
            "properties": properties,
            "session_id": sid,
            "lib": world.lib.take(user),
            "os": world.os.take(user),
            "url": pa.nulls(n, pa.string()),
            "source": pa.repeat(pa.scalar("demo", pa.string()), n),
        },
        schema=EVENT_ARROW_SCHEMA,
    )
