"""The demo world's users: who they are, where they came from, when they signed up and how they
behave (as per-user rates the daily simulation draws from). One array per attribute."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from opsloop.demo import catalog as cat
from opsloop.demo.calendar import DemoCalendar

I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]
B = npt.NDArray[np.bool_]

DAY_OPEN = 6.5 * 3600  # the app's users sleep from 23:54 to 06:30
DAY_CLOSE = 86040.0
LATEST_SIGNUP = 82000.0


@dataclass(frozen=True, slots=True, eq=False)
class Population:
    """N users; arrays are indexed by user number (distinct_id u0000000 ...).

    signup_day, referrer and invite are rewritten for the users the referral campaign brings
    in (see activity.run_campaign); everything else is fixed at birth.
    """

    channel: I8
    region: I8
    city: npt.NDArray[np.int16]
    platform: I8
    device_os: I8  # index into catalog.OS_NAMES
    gender: I8
    age_group: I8
    surname: npt.NDArray[np.int16]
    given: npt.NDArray[np.int16]  # two indexes into GIVEN_CHARS; the second may be -1
    signup_day: I32
    signup_tod: F32  # local seconds after midnight of the first app_open
    loyal: B
    engage: F32  # daily activity of loyal users
    shop: F32  # chance of a checkout on an active day
    view_rate: F32  # mean view_item per active day
    read_rate: F32  # mean read_article per active day
    checkin_habit: B
    feature_adopter: B
    variant: I8  # title A/B test arm: 0 = A, 1 = B
    referrer: I32  # inviting user, -1 when not invited by the campaign
    invite: I32  # index of the accepted invite, -1 when none

    @property
    def size(self) -> int:
        return len(self.channel)


def _pick(rng: np.random.Generator, shares: tuple[float, ...], n: int) -> I8:
    p = np.asarray(shares, dtype=np.float64)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def draw_population(rng: np.random.Generator, n: int, cal: DemoCalendar) -> Population:
    channel = _pick(rng, cat.CHANNEL_SHARE, n)
    region = _pick(rng, cat.REGION_SHARE, n)
    sizes = np.array([len(c) for c in cat.REGION_CITIES])
    city = np.floor(rng.random(n) * sizes[region]).astype(np.int16)
    platform = _pick(rng, cat.PLATFORM_SHARE, n)
    # Friends invited over WeChat mostly open the mini program.
    wechat = channel == cat.CHANNELS.index("微信裂变")
    platform[wechat & (rng.random(n) < 0.5)] = 2
    device_os = np.where(platform == 2, (rng.random(n) < 0.6).astype(np.int8), platform)
    given2 = rng.integers(0, len(cat.GIVEN_CHARS), n)
    given = np.stack(
        [rng.integers(0, len(cat.GIVEN_CHARS), n), np.where(rng.random(n) < 0.7, given2, -1)],
        axis=1,
    ).astype(np.int16)

    # Sign-ups grow over the range and are a little higher at weekends.
    weights = (1 + 0.8 * np.arange(cal.days) / cal.days) * np.where(cal.weekend, 1.15, 1.0)
    signup_day = rng.choice(cal.days, size=n, p=weights / weights.sum()).astype(np.int32)
    signup_tod = (DAY_OPEN + (LATEST_SIGNUP - DAY_OPEN) * rng.beta(2.2, 1.6, n)).astype(np.float32)

    loyal = rng.random(n) < np.asarray(cat.CHANNEL_LOYAL)[channel]
    shop = np.clip(0.06 * np.exp(rng.normal(0, 0.6, n)) * np.where(loyal, 4.0, 1.0), 0.005, 0.7)
    return Population(
        channel=channel,
        region=region,
        city=city,
        platform=platform,
        device_os=device_os.astype(np.int8),
        gender=(rng.random(n) < 0.42).astype(np.int8),
        age_group=_pick(rng, cat.AGE_SHARE, n),
        surname=rng.integers(0, len(cat.SURNAMES), n).astype(np.int16),
        given=given,
        signup_day=signup_day,
        signup_tod=signup_tod,
        loyal=loyal,
        engage=rng.uniform(0.35, 0.75, n).astype(np.float32),
        shop=shop.astype(np.float32),
        view_rate=(0.8 + rng.gamma(2.0, 0.8, n)).astype(np.float32),
        read_rate=rng.gamma(1.2, 0.9, n).astype(np.float32),
        checkin_habit=rng.random(n) < np.where(loyal, 0.55, 0.12),
        feature_adopter=rng.random(n) < cat.TARGET_FEATURE_ADOPTION,
        variant=rng.integers(0, 2, n).astype(np.int8),
        referrer=np.full(n, -1, dtype=np.int32),
        invite=np.full(n, -1, dtype=np.int32),
    )
