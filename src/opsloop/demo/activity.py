"""Which days each user is active (user-days), and the referral campaign that runs on them.

Activity is drawn day by day since sign-up, vectorised over users: day 1 carries the planted
next-day retention of the user's channel; later days follow the user's habit (loyal users come
back often, casual users fade). The campaign then picks its participants among the users active
during it, and the friends they invite become (re-timed) sign-ups of the 微信裂变 channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsloop.demo import catalog as cat
from opsloop.demo.calendar import DemoCalendar
from opsloop.demo.population import Population

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

LOYAL_DAY1 = 0.80
CAMPAIGN_JOIN = 0.45
CAMPAIGN_SHARE = 0.15  # planted; the plan expected 30%
CAMPAIGN_SHARE_TARGET = 0.30
CAMPAIGN_INVITER = 0.70  # sharers who go on to send invites
CAMPAIGN_EXTRA_INVITES = 1.5  # invites per inviter = 1 + Poisson(this)
INVITE_CONVERSION = 0.30


@dataclass(frozen=True, slots=True, eq=False)
class UserDays:
    """Active (user, day) pairs, ordered by day then user."""

    user: I32
    day: I32

    def __len__(self) -> int:
        return len(self.user)


@dataclass(frozen=True, slots=True, eq=False)
class Campaign:
    join_day: I32  # per user: the day they joined (and shared, and invited), -1 if never
    sharer: npt.NDArray[np.bool_]
    inviter: I32  # per invite, ordered by inviter
    invite_day: I32
    invitee: I32  # the user who signed up with the invite, -1 if nobody did
    first_invite: I64  # per user: index of their first invite (with invite_count)
    invite_count: I32


def simulate_activity(
    pop: Population, cal: DemoCalendar, users: I64, rng: np.random.Generator
) -> UserDays:
    """Active days of `users`: the sign-up day, then a draw for every later day in range."""
    signup = pop.signup_day[users]
    order = np.argsort(signup, kind="stable")
    users, signup = users[order], signup[order]
    loyal = pop.loyal[users]
    q = np.asarray(cat.CHANNEL_LOYAL)[pop.channel[users]]
    # Casual users' day-1 chance, so that the channel's average is its planted retention.
    casual_day1 = (np.asarray(cat.CHANNEL_DAY1)[pop.channel[users]] - q * LOYAL_DAY1) / (1 - q)
    day1 = np.where(loyal, LOYAL_DAY1, casual_day1)
    engage = pop.engage[users]
    weekday = np.where(cal.weekend, 1.10, 0.96)
    out_users = [users]
    out_days = [signup]
    for t in range(1, cal.days):
        # Users are sorted by sign-up day: those who still have day t in range are a prefix.
        m = int(np.searchsorted(signup, cal.days - 1 - t, side="right"))
        if m == 0:
            break
        day = signup[:m] + t
        if t == 1:
            p = day1[:m]
        else:
            casual = 0.045 + 0.28 * np.exp(-(t - 2) / 4.0)
            p = np.where(loyal[:m], engage[:m] * 0.997**t, casual) * weekday[day]
        active = rng.random(m) < p
        out_users.append(users[:m][active])
        out_days.append(day[active])
    all_users = np.concatenate(out_users).astype(np.int32)
    all_days = np.concatenate(out_days).astype(np.int32)
    order = np.lexsort((all_users, all_days))
    return UserDays(all_users[order], all_days[order])


def merge(a: UserDays, b: UserDays) -> UserDays:
    user = np.concatenate([a.user, b.user])
    day = np.concatenate([a.day, b.day])
    order = np.lexsort((user, day))
    return UserDays(user[order], day[order])


def first_active_in(ud: UserDays, first: int, last: int, n_users: int) -> I32:
    """Per user, their first active day within [first, last], or -1."""
    out = np.full(n_users, -1, dtype=np.int32)
    inside = (ud.day >= first) & (ud.day <= last)
    # User-days are ordered by day, so a user's first occurrence is their earliest day.
    users, where = np.unique(ud.user[inside], return_index=True)
    out[users] = ud.day[inside][where]
    return out


def run_campaign(
    pop: Population, cal: DemoCalendar, before: UserDays, rng: np.random.Generator
) -> Campaign:
    """The referral campaign (老带新): users who signed up before it join on their first active
    day in it; some share and invite friends; invited friends sign up a few days later.

    Rewrites the sign-up day of the 微信裂变 users who arrive through an invite.
    """
    n = pop.size
    first, last = cal.campaign
    seen = first_active_in(before, first, last, n)
    joined = (seen >= 0) & (rng.random(n) < CAMPAIGN_JOIN)
    join_day = np.where(joined, seen, -1).astype(np.int32)
    sharer = joined & (rng.random(n) < CAMPAIGN_SHARE)
    inviting = sharer & (rng.random(n) < CAMPAIGN_INVITER)
    counts = np.where(inviting, 1 + rng.poisson(CAMPAIGN_EXTRA_INVITES, n), 0).astype(np.int32)
    inviter = np.repeat(np.arange(n, dtype=np.int32), counts)
    invite_day = join_day[inviter]
    lag = rng.integers(1, 4, len(inviter))
    converts = (rng.random(len(inviter)) < INVITE_CONVERSION) & (invite_day + lag <= cal.days - 1)
    # The friends are 微信裂变 users who would have arrived during or after the campaign.
    wechat = cat.CHANNELS.index("微信裂变")
    pool = np.flatnonzero((pop.channel == wechat) & (pop.signup_day >= first))
    pool = pool[rng.permutation(len(pool))]
    accepted = np.flatnonzero(converts)[: len(pool)]
    invitee = np.full(len(inviter), -1, dtype=np.int32)
    friends = pool[: len(accepted)]
    invitee[accepted] = friends
    pop.signup_day[friends] = invite_day[accepted] + lag[accepted]
    pop.referrer[friends] = inviter[accepted]
    pop.invite[friends] = accepted
    first_invite = np.cumsum(counts, dtype=np.int64) - counts
    return Campaign(join_day, sharer, inviter, invite_day, invitee, first_invite, counts)
