"""What users do on their active days, drawn for a whole block of user-days at once: sessions,
sign-ups, check-ins, the campaign, the title test, browsing, purchases, reading, features and
feedback. render_block turns a block into the event store's table."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from opsloop.demo import catalog as cat
from opsloop.demo import encode
from opsloop.demo.block import Block, item_fields, lay_out, open_block
from opsloop.demo.encode import JsonFields
from opsloop.demo.purchases import add_purchases
from opsloop.demo.scenario import World

I64 = npt.NDArray[np.int64]

EXPERIMENT_READ_RATE = (0.20, 0.26)  # planted: title B wins by 30%
CHECK_IN = (0.07, 0.80)  # daily chance of a check-in without / with the habit
FEEDBACK = 0.004  # daily chance of unprompted feedback
CART = 0.12  # a viewed item goes to the cart


def add_sessions(b: Block) -> None:
    n_sessions = len(b.session_ud)
    b.add("app_open", np.arange(n_sessions), np.zeros(n_sessions))


def add_signups(b: Block) -> None:
    pop = b.world.pop
    ud = np.flatnonzero(b.age == 0)
    users = b.user[ud]
    session = b.first_session[ud]
    n = len(ud)
    method = b.rng.integers(0, 2, n)  # 手机号 or 微信, and on iOS now and then Apple ID
    method[(pop.platform[users] == 0) & (b.rng.random(n) < 0.25)] = 2
    methods = encode.vocab(("手机号", "微信", "Apple ID"), method)
    invite = pop.invite[users]
    invited = invite >= 0
    props = JsonFields(n).text("signup_method", methods)
    props.parts.append(
        encode.optional(
            invited,
            encode.join(
                [
                    ',"invite_code":"',
                    encode.numbered("INV", np.maximum(invite, 0), 7),
                    '","referrer":"',
                    b.world.distinct_ids.take(pa.array(np.maximum(pop.referrer[users], 0))),
                    '","campaign_id":"',
                    cat.CAMPAIGN_ID,
                    '"',
                ],
                n,
            ),
        )
    )
    b.add("sign_up", session, np.full(n, 0.1), props)
    coupon_id, coupon_name, value = cat.COUPONS["newbie"]
    b.add(
        "coupon_received",
        session,
        np.full(n, 0.15),
        _coupon(n, coupon_id, coupon_name, value).text("reason", "sign_up"),
    )


def _coupon(n: int, coupon_id: str, name: str, value_cents: int) -> JsonFields:
    return (
        JsonFields(n)
        .text("coupon_id", coupon_id)
        .text("coupon_name", name)
        .raw("value", f"{value_cents // 100}.{value_cents % 100:02d}")
    )


def add_check_ins(b: Block) -> None:
    pop = b.world.pop
    habit = pop.checkin_habit[b.user]
    ud = np.flatnonzero(b.rng.random(b.size) < np.where(habit, CHECK_IN[1], CHECK_IN[0]))
    session = b.first_session[ud]
    n = len(ud)
    b.add("sign_in", session, np.full(n, 0.2))
    weekend = b.world.cal.weekend[b.day[ud]]
    points = JsonFields(n).raw("points", encode.integers(np.where(weekend, 10, 5)))
    b.add("points_earned", session, np.full(n, 0.21), points.text("reason", "sign_in"))


def add_campaign(b: Block) -> None:
    """Joining the referral campaign, and for the sharers their share and invites."""
    camp = b.world.campaign
    ud = np.flatnonzero(camp.join_day[b.user] == b.day)
    users = b.user[ud]
    session = b.any_session(ud)
    n = len(ud)
    joined = JsonFields(n).text("campaign_id", cat.CAMPAIGN_ID)
    b.add(
        "campaign_join",
        session,
        np.full(n, 0.3),
        joined.text("campaign_name", b.world.campaign_name),
    )
    coupon_id, coupon_name, value = cat.COUPONS["campaign"]
    b.add(
        "coupon_received",
        session,
        np.full(n, 0.31),
        _coupon(n, coupon_id, coupon_name, value).text("campaign_id", cat.CAMPAIGN_ID),
    )
    shares = camp.sharer[users]
    s_session = session[shares]
    m = len(s_session)
    b.add(
        "share",
        s_session,
        np.full(m, 0.32),
        JsonFields(m).text("campaign_id", cat.CAMPAIGN_ID).text("share_target", "微信好友"),
    )
    b.add(
        "points_earned",
        s_session,
        np.full(m, 0.321),
        JsonFields(m).raw("points", "10").text("reason", "share"),
    )
    # Each inviter's invites, in order, right after the share.
    counts = camp.invite_count[users]
    inv_session = np.repeat(session, counts)
    nth = np.arange(len(inv_session)) - np.repeat(np.cumsum(counts) - counts, counts)
    invite = np.repeat(camp.first_invite[users], counts) + nth
    k = len(invite)
    props = (
        JsonFields(k)
        .text("campaign_id", cat.CAMPAIGN_ID)
        .text("invite_code", encode.numbered("INV", invite, 7))
        .text("share_target", "微信好友")
    )
    b.add("invite", inv_session, 0.33 + 0.0001 * nth, props)


def add_experiment(b: Block) -> None:
    """The title A/B test: exposure on the first active day in it, then maybe a read."""
    pop = b.world.pop
    ud = np.flatnonzero(b.world.exposure_day[b.user] == b.day)
    users = b.user[ud]
    variant = pop.variant[users]
    session = b.any_session(ud)
    slot = 1 + b.rng.random(len(ud))
    n = len(ud)
    labels = encode.vocab(("A", "B"), variant)
    exposure = (
        JsonFields(n)
        .text("experiment_id", cat.EXPERIMENT_ID)
        .text("variant", labels)
        .text("content_id", cat.EXPERIMENT_CONTENT_ID)
    )
    b.add("experiment_exposure", session, slot, exposure)
    reads = b.rng.random(n) < np.asarray(EXPERIMENT_READ_RATE)[variant]
    m = int(reads.sum())
    read = (
        JsonFields(m)
        .text("content_id", cat.EXPERIMENT_CONTENT_ID)
        .text("title", encode.vocab(cat.EXPERIMENT_TITLES, variant[reads]))
        .text("topic", "穿搭")
        .text("experiment_id", cat.EXPERIMENT_ID)
        .text("variant", labels.filter(pa.array(reads)))
    )
    b.add("read_article", session[reads], slot[reads] + 0.001, read)


def add_browsing(b: Block) -> None:
    """view_item, and now and then add_to_cart of the item just viewed."""
    items = b.world.items
    counts = b.rng.poisson(b.world.pop.view_rate[b.user])
    ud = np.repeat(np.arange(b.size), counts)
    session = b.any_session(ud)
    slot = 1 + b.rng.random(len(ud))
    item = b.rng.choice(len(items.popularity), size=len(ud), p=items.popularity)
    b.add("view_item", session, slot, item_fields(b.world, item))
    cart = b.rng.random(len(ud)) < CART
    b.add(
        "add_to_cart",
        session[cart],
        slot[cart] + 0.0005,
        item_fields(b.world, item[cart]).raw("quantity", "1"),
    )


def add_reading(b: Block) -> None:
    """read_article of published articles (newer ones more often), with likes, comments and
    shares at each article's own rates."""
    world = b.world
    counts = b.rng.poisson(world.pop.read_rate[b.user])
    ud = np.repeat(np.arange(b.size), counts)
    published = np.searchsorted(world.content_published, b.day[ud], side="right")
    ud, published = ud[published > 0], published[published > 0]
    article = published - 1 - np.floor(published * b.rng.random(len(ud)) ** 2.5).astype(np.int64)
    session = b.any_session(ud)
    slot = 1 + b.rng.random(len(ud))
    c = world.content
    ids = [x.content_id for x in c]
    read = (
        JsonFields(len(ud))
        .text("content_id", encode.vocab(ids, article))
        .text("title", encode.vocab([x.title for x in c], article))
        .text("topic", encode.vocab([x.topic for x in c], article))
    )
    b.add("read_article", session, slot, read)
    for offset, (event, rates) in enumerate(
        (
            ("like", [x.like_rate for x in c]),
            ("comment", [x.comment_rate for x in c]),
            ("share", [x.share_rate for x in c]),
        ),
        start=1,
    ):
        hit = b.rng.random(len(ud)) < np.asarray(rates)[article]
        props = JsonFields(int(hit.sum())).text("content_id", encode.vocab(ids, article[hit]))
        if event == "share":
            targets = b.rng.integers(0, len(cat.SHARE_TARGETS), int(hit.sum()))
            props.text("share_target", encode.vocab(cat.SHARE_TARGETS, targets))
        b.add(event, session[hit], slot[hit] + 0.0001 * offset, props)


def add_features(b: Block) -> None:
    pop = b.world.pop
    for name, chance in cat.FEATURES:
        ud = np.flatnonzero(b.rng.random(b.size) < chance * np.where(pop.loyal[b.user], 1.5, 1))
        _use(b, ud, name)
    # The planted feature: adopters use it on their first day and then now and then.
    adopter = pop.feature_adopter[b.user]
    reuse = b.rng.random(b.size) < cat.TARGET_FEATURE_REUSE
    _use(b, np.flatnonzero(adopter & ((b.age == 0) | reuse)), cat.TARGET_FEATURE)


def _use(b: Block, ud: I64, feature: str) -> None:
    n = len(ud)
    b.add(
        "use_feature",
        b.any_session(ud),
        1 + b.rng.random(n),
        JsonFields(n).text("feature", feature),
    )


def add_feedback(b: Block) -> None:
    ud = np.flatnonzero(b.rng.random(b.size) < FEEDBACK)
    n = len(ud)
    kind = b.rng.choice(3, size=n, p=np.asarray(cat.FEEDBACK_SHARE))
    texts = [t for group in cat.FEEDBACK_TEXTS for t in group]
    base = np.cumsum([0] + [len(g) for g in cat.FEEDBACK_TEXTS])[:-1]
    sizes = np.array([len(g) for g in cat.FEEDBACK_TEXTS])
    text = base[kind] + np.floor(b.rng.random(n) * sizes[kind]).astype(np.int64)
    rating = np.array([1, 3, 5])[kind] + (b.rng.random(n) < 0.5)
    b.add(
        "feedback",
        b.any_session(ud),
        1 + b.rng.random(n),
        feedback_fields(n, kind, text, texts, rating),
    )


def feedback_fields(n: int, kind: I64, text: I64, texts: list[str], rating: I64) -> JsonFields:
    return (
        JsonFields(n)
        .text("type", encode.vocab(cat.FEEDBACK_TYPES, kind))
        .text("text", encode.vocab(texts, text))
        .raw("rating", encode.integers(rating))
    )


def render_block(
    world: World,
    user: npt.NDArray[np.integer],
    day: npt.NDArray[np.integer],
    rng: np.random.Generator,
    workspace_id: int,
    first_order: int,
) -> tuple[pa.Table, int]:
    """All events of the given user-days, time-ordered; returns the table and the next free
    order number."""
    b = open_block(world, user.astype(np.int64), day.astype(np.int64), rng)
    add_sessions(b)
    add_signups(b)
    add_check_ins(b)
    add_campaign(b)
    add_experiment(b)
    add_browsing(b)
    next_order = add_purchases(b, first_order)
    add_reading(b)
    add_features(b)
    add_feedback(b)
    return lay_out(b, workspace_id), next_order
