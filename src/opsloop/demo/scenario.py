"""The planned demo world before any event is written: users, their active days, the campaign,
the title test, the catalogs, and the text every event of a user repeats (ids, common props)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from opsloop.demo import catalog as cat
from opsloop.demo import encode
from opsloop.demo.activity import (
    Campaign,
    UserDays,
    first_active_in,
    merge,
    run_campaign,
    simulate_activity,
)
from opsloop.demo.calendar import DemoCalendar
from opsloop.demo.population import Population, draw_population

I32 = npt.NDArray[np.int32]


@dataclass(frozen=True, slots=True, eq=False)
class World:
    seed: int
    cal: DemoCalendar
    pop: Population
    activity: UserDays
    campaign: Campaign
    campaign_name: str
    exposure_day: I32  # per user: the day they saw the title test, -1 if never
    items: cat.ItemCatalog
    content: tuple[cat.ContentItem, ...]
    content_published: I32  # published day of each article, ascending
    distinct_ids: pa.Array
    user_json: pa.Array  # '{"platform":...,"$os":"..."' : the opening every event repeats
    lib: pa.Array
    os: pa.Array

    @property
    def users(self) -> int:
        return self.pop.size


def campaign_name(cal: DemoCalendar) -> str:
    last = cal.date_of(cal.campaign[1])
    prefix = "双11" if (last.month, last.day) == (11, 11) else ""
    return f"{prefix}老带新：邀请好友得券"


def plan_world(users: int, cal: DemoCalendar, seed: int) -> World:
    rng = np.random.default_rng([seed, 1])
    items = cat.build_items(rng)
    content = cat.build_content(rng, cal.days)
    pop = draw_population(rng, users, cal)
    # Users who signed up before the campaign live their lives first; the campaign then
    # decides which later 微信裂变 users arrive through an invite, and when.
    before = simulate_activity(pop, cal, np.flatnonzero(pop.signup_day < cal.campaign[0]), rng)
    campaign = run_campaign(pop, cal, before, rng)
    after = simulate_activity(pop, cal, np.flatnonzero(pop.signup_day >= cal.campaign[0]), rng)
    activity = merge(before, after)
    width = max(7, len(str(users - 1)))
    distinct_ids = encode.numbered("u", np.arange(users), width)
    lib = encode.vocab(cat.PLATFORM_LIB, pop.platform)
    os = encode.vocab(cat.OS_NAMES, pop.device_os)
    user_json = encode.join(
        [
            '{"platform":"',
            encode.vocab(cat.PLATFORMS, pop.platform),
            '","channel":"',
            encode.vocab(cat.CHANNELS, pop.channel),
            '","region":"',
            encode.vocab(cat.REGIONS, pop.region),
            '","$lib":"',
            lib,
            '","$os":"',
            os,
            '"',
        ],
        users,
    )
    return World(
        seed=seed,
        cal=cal,
        pop=pop,
        activity=activity,
        campaign=campaign,
        campaign_name=campaign_name(cal),
        exposure_day=first_active_in(activity, *cal.experiment, users),
        items=items,
        content=content,
        content_published=np.array([c.published_day for c in content], dtype=np.int32),
        distinct_ids=distinct_ids,
        user_json=user_json,
        lib=lib,
        os=os,
    )


def person_properties(world: World, lo: int, hi: int) -> pa.Table:
    """distinct_id and person properties (JSON text) of users lo..hi-1."""
    pop = world.pop
    idx = np.arange(lo, hi)
    n = len(idx)
    given2 = pop.given[idx, 1]
    names = encode.join(
        [
            encode.vocab(cat.SURNAMES, pop.surname[idx]),
            encode.vocab(cat.GIVEN_CHARS, pop.given[idx, 0]),
            encode.optional(given2 >= 0, encode.vocab(cat.GIVEN_CHARS, np.maximum(given2, 0))),
        ],
        n,
    )
    cities = [c for cities in cat.REGION_CITIES for c in cities]
    city_base = np.cumsum([0] + [len(c) for c in cat.REGION_CITIES])[:-1]
    signup = [world.cal.iso(d) for d in range(world.cal.days)]
    invited = pop.referrer[idx] >= 0
    fields = (
        encode.JsonFields(n)
        .text("name", names)
        .text("channel", encode.vocab(cat.CHANNELS, pop.channel[idx]))
        .text("region", encode.vocab(cat.REGIONS, pop.region[idx]))
        .text("city", encode.vocab(cities, city_base[pop.region[idx]] + pop.city[idx]))
        .text("platform", encode.vocab(cat.PLATFORMS, pop.platform[idx]))
        .text("os", world.os.take(pa.array(idx)))
        .text("gender", encode.vocab(cat.GENDERS, pop.gender[idx]))
        .text("age_group", encode.vocab(cat.AGE_GROUPS, pop.age_group[idx]))
        .text("signup_date", encode.vocab(signup, pop.signup_day[idx]))
    )
    referrer = world.distinct_ids.take(pa.array(np.maximum(pop.referrer[idx], 0)))
    fields.parts.append(
        encode.optional(
            invited,
            encode.join([',"referrer":"', referrer, '","campaign_id":"', cat.CAMPAIGN_ID, '"'], n),
        )
    )
    props = encode.join(["{", _strip_comma(fields.build()), "}"], n)
    return pa.table({"distinct_id": world.distinct_ids.slice(lo, n), "properties": props})


def _strip_comma(fields: pa.Array) -> pa.Array:
    return pc.utf8_slice_codeunits(fields, 1)


def catalog_summary(world: World) -> dict[str, object]:
    """The world's fixed parts, for truths.json: what modules seeding from the demo need."""
    cal = world.cal
    return {
        "channels": list(cat.CHANNELS),
        "regions": list(cat.REGIONS),
        "platforms": list(cat.PLATFORMS),
        "categories": [c[0] for c in cat.CATEGORIES],
        "features": [f for f, _ in cat.FEATURES] + [cat.TARGET_FEATURE],
        "campaign": {
            "id": cat.CAMPAIGN_ID,
            "name": world.campaign_name,
            "kind": "referral",
            "date_from": cal.iso(cal.campaign[0]),
            "date_to": cal.iso(cal.campaign[1]),
            "rule": "参与即领 30 元邀请有礼券；好友通过邀请码注册，得新人专享券",
            "coupon_id": cat.COUPONS["campaign"][0],
            "target_share_rate": 0.30,
        },
        "experiment": {
            "id": cat.EXPERIMENT_ID,
            "kind": "title",
            "content_id": cat.EXPERIMENT_CONTENT_ID,
            "date_from": cal.iso(cal.experiment[0]),
            "date_to": cal.iso(cal.experiment[1]),
            "variants": {"A": cat.EXPERIMENT_TITLES[0], "B": cat.EXPERIMENT_TITLES[1]},
        },
        "content": [
            {
                "content_id": c.content_id,
                "title": c.title,
                "category": c.category,
                "tags": list(c.tags),
                "published_date": cal.iso(c.published_day),
            }
            for c in world.content
        ],
    }
