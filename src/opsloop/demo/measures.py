"""The eight measurements that turn the stored demo events back into the planted truths."""

from __future__ import annotations

import math

from opsloop.demo import catalog as cat
from opsloop.demo.activity import (
    CAMPAIGN_EXTRA_INVITES,
    CAMPAIGN_SHARE,
    CAMPAIGN_SHARE_TARGET,
    INVITE_CONVERSION,
)
from opsloop.demo.eventlog import EXPERIMENT_READ_RATE
from opsloop.demo.purchases import CAMPAIGN_COMPLAINT
from opsloop.demo.scenario import World
from opsloop.demo.truths import (
    RATE_TOLERANCE,
    EventQuery,
    Truth,
    product_tolerance,
    ratio_tolerance,
)
from opsloop.demo.truths import rate as _rate
from opsloop.demo.truths import sigma4 as _sigma4
from opsloop.events import EventStore

# Targets of the repurchase story: emergent from habits and the checkout cut, so calibrated
# on the default world (20,000 users, 90 days) rather than derived.
REPURCHASE_BEFORE = 0.40
REPURCHASE_AFTER = 0.13


def compute_truths(store: EventStore, workspace_id: int, world: World) -> list[Truth]:
    sql = EventQuery(store, workspace_id, world)
    try:
        return [
            next_day_retention(sql, world),
            repurchase_drop(sql, world),
            campaign_share_rate(sql, world),
            feature_usage(sql, world),
            payment_collapse(sql, world),
            title_ab_test(sql, world),
            campaign_complaint_rate(sql, world),
            referral_k_factor(sql, world),
        ]
    finally:
        sql.close()


def next_day_retention(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    rows = sql.rows(
        "WITH days AS (SELECT distinct_id, day FROM _demo_days),"
        " firsts AS (SELECT distinct_id, min(day) AS d0 FROM days GROUP BY 1),"
        " su AS (SELECT distinct_id, channel FROM _demo_ev"
        "  WHERE event = 'sign_up')"
        " SELECT su.channel, count(*), count(r.day) FROM firsts f JOIN su USING (distinct_id)"
        " LEFT JOIN days r ON r.distinct_id = f.distinct_id AND r.day = f.d0 + 1"
        " WHERE f.d0 < ? GROUP BY 1",
        [cal.end],
    )
    counts = {ch: (int(n), int(r)) for ch, n, r in rows}
    low = cat.CHANNELS[cat.LOW_RETENTION_CHANNEL]
    others = [c for c in cat.CHANNELS if c != low]
    rates = {c: _rate(counts.get(c, (0, 0))[1], counts.get(c, (0, 0))[0]) for c in cat.CHANNELS}
    others_avg = sum(rates[c] for c in others) / len(others)
    planted_others = sum(cat.CHANNEL_DAY1[cat.CHANNELS.index(c)] for c in others) / len(others)
    n_low = counts.get(low, (0, 0))[0]
    planted_low = cat.CHANNEL_DAY1[cat.LOW_RETENTION_CHANNEL]
    others_var = 0.0
    for c in others:
        p, n = cat.CHANNEL_DAY1[cat.CHANNELS.index(c)], counts.get(c, (0, 0))[0]
        others_var += p * (1 - p) / max(n, 1)
    return Truth(
        id="low_retention_channel",
        what=f"New users from {low} come back the next day half as often as the others",
        what_zh=f"{low}渠道新用户的次日留存率约 20%，其他渠道平均约 40%",
        metric="next_day_retention",
        where={
            "breakdown": "channel",
            "channel": low,
            "cohort_date_from": cal.iso(0),
            "cohort_date_to": cal.iso(cal.days - 2),
            "others": others,
            "others_average": "unweighted mean of the other channels' rates",
        },
        expected={"rate": rates[low], "others_average": others_avg},
        tolerance=RATE_TOLERANCE,
        planted={
            "rate": cat.CHANNEL_DAY1[cat.LOW_RETENTION_CHANNEL],
            "others_average": planted_others,
        },
        planted_tolerance={
            "rate": _sigma4(planted_low, n_low),
            "others_average": max(0.01, 4 * math.sqrt(others_var) / len(others)),
        },
        details={
            "by_channel": {
                c: {
                    "new_users": counts.get(c, (0, 0))[0],
                    "retained": counts.get(c, (0, 0))[1],
                    "rate": rates[c],
                }
                for c in cat.CHANNELS
            }
        },
    )


def repurchase_drop(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    b0, b1 = cal.repurchase_before
    a0, a1 = cal.repurchase_after
    rows = sql.rows(
        "WITH su AS (SELECT distinct_id, region, day AS signup FROM _demo_ev"
        "  WHERE event = 'sign_up'),"
        " p AS (SELECT distinct_id, CASE WHEN day BETWEEN ? AND ? THEN 'before'"
        "  WHEN day BETWEEN ? AND ? THEN 'after' END AS win, count(DISTINCT day) AS n"
        "  FROM _demo_ev WHERE event = 'pay' GROUP BY ALL HAVING win IS NOT NULL)"
        " SELECT su.region, p.win, count(*), count(*) FILTER (WHERE p.n >= 2)"
        " FROM p JOIN su USING (distinct_id) WHERE su.signup < ? GROUP BY ALL",
        [
            cal.date_of(b0),
            cal.date_of(b1),
            cal.date_of(a0),
            cal.date_of(a1),
            cal.date_of(cal.old_user_cutoff),
        ],
    )
    stats = {(r, w): (int(n), int(k)) for r, w, n, k in rows}
    region = cat.REGIONS[cat.DROP_REGION]

    def pooled(regions: list[str], win: str) -> tuple[int, int]:
        n = sum(stats.get((r, win), (0, 0))[0] for r in regions)
        return n, sum(stats.get((r, win), (0, 0))[1] for r in regions)

    others = [r for r in cat.REGIONS if r != region]
    before, after = pooled([region], "before"), pooled([region], "after")
    o_before, o_after = pooled(others, "before"), pooled(others, "after")
    return Truth(
        id="repurchase_drop_region",
        what=f"From {cal.iso(cal.drop_day)} the repurchase rate of old users in {region} drops",
        what_zh=f"{cal.iso(cal.drop_day)} 起{region}地区老用户复购率明显下降",
        metric="repurchase_rate",
        where={
            "region": region,
            "segment": "old users: signed up before signup_before",
            "signup_before": cal.iso(cal.old_user_cutoff),
            "change_date": cal.iso(cal.drop_day),
            "before": {"date_from": cal.iso(b0), "date_to": cal.iso(b1)},
            "after": {"date_from": cal.iso(a0), "date_to": cal.iso(a1)},
            "definition": "payers with pay events on 2+ distinct days / payers, per window",
        },
        expected={"before": _rate(before[1], before[0]), "after": _rate(after[1], after[0])},
        tolerance=RATE_TOLERANCE,
        planted={"before": REPURCHASE_BEFORE, "after": REPURCHASE_AFTER},
        # Two points on top of sampling noise: the targets are calibrated, not derived.
        planted_tolerance={
            "before": _sigma4(REPURCHASE_BEFORE, before[0]) + 0.02,
            "after": _sigma4(REPURCHASE_AFTER, after[0]) + 0.02,
        },
        details={
            "payers": {"before": before[0], "after": after[0]},
            "repeat_payers": {"before": before[1], "after": after[1]},
            "other_regions": {
                "before": _rate(o_before[1], o_before[0]),
                "after": _rate(o_after[1], o_after[0]),
            },
        },
    )


def campaign_share_rate(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    ((participants, sharers),) = sql.rows(
        "WITH part AS (SELECT DISTINCT distinct_id FROM _demo_ev WHERE event = 'campaign_join'"
        "  AND campaign_id = ?),"
        " sh AS (SELECT DISTINCT distinct_id FROM _demo_ev WHERE event = 'share'"
        "  AND campaign_id = ?)"
        " SELECT count(*), count(sh.distinct_id) FROM part LEFT JOIN sh USING (distinct_id)",
        [cat.CAMPAIGN_ID, cat.CAMPAIGN_ID],
    )
    return Truth(
        id="campaign_share_rate",
        what=f"The campaign {world.campaign_name} gets a share rate of 15% against the 30% planned",
        what_zh=f"活动「{world.campaign_name}」分享率约 15%，远低于预期的 30%",
        metric="campaign_share_rate",
        where={
            "campaign_id": cat.CAMPAIGN_ID,
            "campaign_name": world.campaign_name,
            "date_from": cal.iso(cal.campaign[0]),
            "date_to": cal.iso(cal.campaign[1]),
            "participants": "persons with campaign_join of the campaign",
            "sharers": "participants with a share event carrying the campaign_id",
            "planned_share_rate": CAMPAIGN_SHARE_TARGET,
        },
        expected={"share_rate": _rate(sharers, participants)},
        tolerance=RATE_TOLERANCE,
        planted={"share_rate": CAMPAIGN_SHARE},
        planted_tolerance={"share_rate": _sigma4(CAMPAIGN_SHARE, int(participants))},
        details={"participants": int(participants), "sharers": int(sharers)},
    )


def feature_usage(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    ((active, users),) = sql.rows(
        "SELECT (SELECT count(DISTINCT distinct_id) FROM _demo_days),"
        " (SELECT count(DISTINCT distinct_id) FROM _demo_ev"
        "  WHERE event = 'use_feature' AND feature = ?)",
        [cat.TARGET_FEATURE],
    )
    rate = _rate(users, active)
    return Truth(
        id="feature_usage_rate",
        what=f"The feature {cat.TARGET_FEATURE} is used by about 10% of active users",
        what_zh=f"功能「{cat.TARGET_FEATURE}」的使用率约 10%（使用人数 ÷ 活跃人数）",
        metric="feature_usage_rate",
        where={
            "event": "use_feature",
            "property": "feature",
            "feature": cat.TARGET_FEATURE,
            "date_from": cal.iso(0),
            "date_to": cal.iso(cal.days - 1),
        },
        expected={"rate": rate},
        tolerance=RATE_TOLERANCE,
        planted={"rate": cat.TARGET_FEATURE_ADOPTION},
        planted_tolerance={"rate": _sigma4(cat.TARGET_FEATURE_ADOPTION, int(active))},
        details={"users": int(users), "active_users": int(active)},
    )


def payment_collapse(sql: EventQuery, world: World) -> Truth:
    """Checkout→pay conversion per platform and day: persons with a checkout that day, and
    of them those with a pay after their first checkout that day."""
    cal = world.cal
    rows = sql.rows(
        "SELECT day, platform, count(*), count(*) FILTER (WHERE last_pay > first_co) FROM ("
        " SELECT distinct_id, day, platform,"
        "  min(timestamp) FILTER (WHERE event = 'checkout') AS first_co,"
        "  max(timestamp) FILTER (WHERE event = 'pay') AS last_pay"
        " FROM _demo_ev WHERE event IN ('checkout', 'pay') GROUP BY ALL) t"
        " WHERE first_co IS NOT NULL GROUP BY ALL"
    )
    platform = cat.PLATFORMS[cat.COLLAPSE_PLATFORM]
    day = cal.date_of(cal.collapse_day)
    on_day = {p: (int(n), int(k)) for d, p, n, k in rows if d == day}
    usual = [(int(n), int(k)) for d, p, n, k in rows if p == platform and d != day]
    usual_n, usual_k = sum(n for n, _ in usual), sum(k for _, k in usual)
    n, k = on_day.get(platform, (0, 0))
    return Truth(
        id="payment_conversion_collapse",
        what=f"On {day.isoformat()} checkout→pay conversion on {platform} collapses",
        what_zh=f"{day.isoformat()} {platform} 端下单→支付转化率骤降",
        metric="checkout_to_pay_conversion",
        where={
            "platform": platform,
            "breakdown": "platform",
            "date": day.isoformat(),
            "funnel": ["checkout", "pay"],
            "window": "same day",
            "usual": "the platform's pooled conversion on every other day in range",
        },
        expected={"rate": _rate(k, n), "usual": _rate(usual_k, usual_n)},
        tolerance=RATE_TOLERANCE,
        planted={
            "rate": cat.COLLAPSED_PAY_CONVERSION,
            "usual": cat.PAY_CONVERSION[cat.COLLAPSE_PLATFORM],
        },
        planted_tolerance={
            "rate": _sigma4(cat.COLLAPSED_PAY_CONVERSION, n),
            "usual": _sigma4(cat.PAY_CONVERSION[cat.COLLAPSE_PLATFORM], usual_n),
        },
        details={
            "checkout_users": n,
            "paying_users": k,
            # In the catalog's order: SQL row order would make truths.json differ run to run.
            "same_day_other_platforms": {
                p: _rate(on_day[p][1], on_day[p][0])
                for p in cat.PLATFORMS
                if p != platform and p in on_day
            },
        },
    )


def title_ab_test(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    rows = sql.rows(
        "WITH exp AS (SELECT DISTINCT distinct_id, variant FROM _demo_ev"
        "  WHERE event = 'experiment_exposure' AND experiment_id = ?),"
        " rd AS (SELECT DISTINCT distinct_id FROM _demo_ev WHERE event = 'read_article'"
        "  AND content_id = ?)"
        " SELECT variant, count(*), count(rd.distinct_id) FROM exp"
        " LEFT JOIN rd USING (distinct_id) GROUP BY 1",
        [cat.EXPERIMENT_ID, cat.EXPERIMENT_CONTENT_ID],
    )
    arms = {v: (int(n), int(k)) for v, n, k in rows}
    (na, ka), (nb, kb) = arms.get("A", (0, 0)), arms.get("B", (0, 0))
    ra, rb = _rate(ka, na), _rate(kb, nb)
    pooled = _rate(ka + kb, na + nb)
    se = math.sqrt(pooled * (1 - pooled) * (_rate(1, na) + _rate(1, nb))) if na and nb else 0.0
    z = (rb - ra) / se if se else 0.0
    planted_a, planted_b = EXPERIMENT_READ_RATE
    tol_a, tol_b = _sigma4(planted_a, na), _sigma4(planted_b, nb)
    return Truth(
        id="title_ab_test",
        what="In the title A/B test, title B gets about 30% more readers than title A",
        what_zh="标题 A/B 测试中，B 标题的阅读转化率比 A 高约 30%，B 胜出",
        metric="experiment_conversion",
        where={
            "experiment_id": cat.EXPERIMENT_ID,
            "content_id": cat.EXPERIMENT_CONTENT_ID,
            "exposure_event": "experiment_exposure",
            "conversion": "exposed persons who read the content (read_article content_id)",
            "date_from": cal.iso(cal.experiment[0]),
            "date_to": cal.iso(cal.experiment[1]),
            "variants": {"A": cat.EXPERIMENT_TITLES[0], "B": cat.EXPERIMENT_TITLES[1]},
        },
        expected={"rate_a": ra, "rate_b": rb, "lift": _rate(rb, ra) - 1 if ra else 0.0},
        tolerance=RATE_TOLERANCE,
        planted={"rate_a": planted_a, "rate_b": planted_b, "lift": planted_b / planted_a - 1},
        planted_tolerance={
            "rate_a": tol_a,
            "rate_b": tol_b,
            "lift": ratio_tolerance(planted_b, tol_b, planted_a, tol_a),
        },
        details={
            "winner": "B" if rb > ra else "A",
            "exposed": {"A": na, "B": nb},
            "readers": {"A": ka, "B": kb},
            "z": z,
            "p_value": math.erfc(abs(z) / math.sqrt(2)),
        },
    )


def campaign_complaint_rate(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    ((complaints, orders),) = sql.rows(
        "SELECT count(*) FILTER (WHERE event = 'feedback' AND type = 'complaint'),"
        " count(*) FILTER (WHERE event = 'pay') FROM _demo_ev"
        " WHERE event IN ('feedback', 'pay') AND campaign_id = ?",
        [cat.CAMPAIGN_ID],
    )
    return Truth(
        id="campaign_complaint_rate",
        what=f"The campaign {world.campaign_name} has a complaint rate of about 6% of its orders",
        what_zh=f"活动「{world.campaign_name}」客诉率约 6%（客诉数 ÷ 活动订单数）",
        metric="complaint_rate",
        where={
            "campaign_id": cat.CAMPAIGN_ID,
            "date_from": cal.iso(cal.campaign[0]),
            "date_to": cal.iso(cal.campaign[1]),
            "complaints": "feedback events with type complaint and the campaign_id",
            "orders": "pay events with the campaign_id",
        },
        expected={"rate": _rate(complaints, orders)},
        tolerance=RATE_TOLERANCE,
        planted={"rate": CAMPAIGN_COMPLAINT},
        planted_tolerance={"rate": _sigma4(CAMPAIGN_COMPLAINT, int(orders))},
        details={"complaints": int(complaints), "orders": int(orders)},
    )


def referral_k_factor(sql: EventQuery, world: World) -> Truth:
    cal = world.cal
    ((invites, inviters),) = sql.rows(
        "SELECT count(*), count(DISTINCT distinct_id) FROM _demo_ev WHERE event = 'invite'"
        " AND campaign_id = ?",
        [cat.CAMPAIGN_ID],
    )
    ((converted,),) = sql.rows(
        "SELECT count(DISTINCT s.distinct_id) FROM _demo_ev s WHERE s.event = 'sign_up'"
        " AND s.campaign_id = ? AND s.invite_code IN"
        " (SELECT invite_code FROM _demo_ev WHERE event = 'invite')",
        [cat.CAMPAIGN_ID],
    )
    per_inviter = _rate(invites, inviters)
    conversion = _rate(converted, invites)
    planted_per = 1 + CAMPAIGN_EXTRA_INVITES
    planted_conv = INVITE_CONVERSION
    # Invites per inviter are 1 + Poisson(extra): their variance is `extra`.
    tol_per = max(0.01, 4 * math.sqrt(CAMPAIGN_EXTRA_INVITES / max(int(inviters), 1)))
    tol_conv = _sigma4(planted_conv, int(invites))
    return Truth(
        id="referral_k_factor",
        what="The referral campaign's K-factor (invites per inviter × invite conversion)",
        what_zh="老带新活动的 K 因子（人均邀请数 × 邀请转化率）约 0.75",
        metric="k_factor",
        where={
            "campaign_id": cat.CAMPAIGN_ID,
            "date_from": cal.iso(cal.campaign[0]),
            "date_to": cal.iso(cal.days - 1),
            "invites": "invite events with the campaign_id",
            "converted": "sign_up events whose invite_code is one of the invites",
        },
        expected={
            "k_factor": per_inviter * conversion,
            "invites_per_inviter": per_inviter,
            "invite_conversion": conversion,
        },
        tolerance=RATE_TOLERANCE,
        planted={
            "k_factor": planted_per * planted_conv,
            "invites_per_inviter": planted_per,
            "invite_conversion": planted_conv,
        },
        planted_tolerance={
            "k_factor": product_tolerance(planted_per, tol_per, planted_conv, tol_conv),
            "invites_per_inviter": tol_per,
            "invite_conversion": tol_conv,
        },
        details={"invites": int(invites), "inviters": int(inviters), "signed_up": int(converted)},
    )
