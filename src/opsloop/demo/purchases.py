"""The purchase chain of a block of user-days: view → cart → checkout → (coupon) → pay, with
points for the order and, for some campaign orders, a complaint.

Two planted truths live here: old users of 华南 check out far less often from the drop day
(their repurchase rate falls), and on the collapse day Android's checkouts rarely get paid.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from opsloop.demo import catalog as cat
from opsloop.demo import encode
from opsloop.demo.block import Block, item_fields
from opsloop.demo.encode import JsonFields

I64 = npt.NDArray[np.int64]

REPURCHASE_DROP_FACTOR = 0.20  # old 华南 users' checkout chance after the drop day
CAMPAIGN_COUPON_USE = 0.60
NEWBIE_COUPON_USE = 0.50  # within a week of sign-up
DISCOUNT_COUPON_USE = 0.08
DISCOUNT_THRESHOLD_CENTS = 9900
CAMPAIGN_COMPLAINT = 0.06  # planted complaint rate of campaign orders
COUPON_KEYS = ("newbie", "campaign", "discount")  # coupon kinds 1, 2, 3; 0 = none


def add_purchases(b: Block, first_order: int) -> int:
    """Draw the block's orders; returns the next free order number."""
    world, rng = b.world, b.rng
    pop, cal, items = world.pop, world.cal, world.items
    old_south = (
        (pop.region[b.user] == cat.DROP_REGION)
        & (pop.signup_day[b.user] < cal.old_user_cutoff)
        & (b.day >= cal.drop_day)
    )
    chance = pop.shop[b.user] * np.where(old_south, REPURCHASE_DROP_FACTOR, 1.0)
    ud = np.flatnonzero(rng.random(b.size) < chance)
    users, day, age = b.user[ud], b.day[ud], b.age[ud]
    m = len(ud)
    session = b.any_session(ud)
    item = rng.choice(len(items.popularity), size=m, p=items.popularity)
    quantity = 1 + (rng.random(m) < 0.2) + (rng.random(m) < 0.05)
    total = items.price_cents[item] * quantity
    order_id = encode.numbered("DD", first_order + np.arange(m), 10)

    b.add("view_item", session, np.full(m, 3.0), item_fields(world, item))
    b.add(
        "add_to_cart",
        session,
        np.full(m, 3.01),
        item_fields(world, item).raw("quantity", encode.integers(quantity)),
    )
    checkout = (
        JsonFields(m)
        .text("order_id", order_id)
        .text("item_id", encode.numbered("sku", item + 10001, 5))
        .text("category", encode.vocab([c[0] for c in cat.CATEGORIES], items.category[item]))
        .raw("amount", encode.yuan(total))
        .raw("quantity", encode.integers(quantity))
    )
    b.add("checkout", session, np.full(m, 3.02), checkout)

    camp = world.campaign
    joined = camp.join_day[users]
    in_campaign = (joined >= 0) & (day >= joined) & (day <= cal.campaign[1])
    coupon = np.zeros(m, dtype=np.int64)
    coupon[(total >= DISCOUNT_THRESHOLD_CENTS) & (rng.random(m) < DISCOUNT_COUPON_USE)] = 3
    coupon[(age <= 7) & (rng.random(m) < NEWBIE_COUPON_USE)] = 1
    coupon[in_campaign & (rng.random(m) < CAMPAIGN_COUPON_USE)] = 2
    value = np.array([0] + [cat.COUPONS[k][2] for k in COUPON_KEYS])[coupon]
    discount = np.minimum(value, total // 2)
    paid_cents = total - discount

    collapsed = (pop.platform[users] == cat.COLLAPSE_PLATFORM) & (day == cal.collapse_day)
    conversion = np.where(
        collapsed, cat.COLLAPSED_PAY_CONVERSION, np.asarray(cat.PAY_CONVERSION)[pop.platform[users]]
    )
    paid = rng.random(m) < conversion
    coupon_ids = ("", *(cat.COUPONS[k][0] for k in COUPON_KEYS))

    used = paid & (coupon > 0)
    k = int(used.sum())
    b.add(
        "coupon_used",
        session[used],
        np.full(k, 3.03),
        JsonFields(k)
        .text("coupon_id", encode.vocab(coupon_ids, coupon[used]))
        .text("order_id", order_id.filter(used))
        .raw("discount", encode.yuan(discount[used])),
    )

    p = int(paid.sum())
    pay = (
        JsonFields(p)
        .raw("amount", encode.yuan(paid_cents[paid]))
        .text("category", encode.vocab([c[0] for c in cat.CATEGORIES], items.category[item[paid]]))
        .text("order_id", order_id.filter(paid))
        .text("item_id", encode.numbered("sku", item[paid] + 10001, 5))
        .raw("quantity", encode.integers(quantity[paid]))
        .text("payment_method", encode.vocab(cat.PAYMENT_METHODS, rng.integers(0, 3, p)))
    )
    has_coupon = coupon[paid] > 0
    pay.parts.append(
        encode.optional(
            has_coupon,
            encode.join(
                [
                    ',"coupon_id":"',
                    encode.vocab(coupon_ids, coupon[paid]),
                    '","discount":',
                    encode.yuan(discount[paid]),
                ],
                p,
            ),
        )
    )
    pay.parts.append(encode.optional(coupon[paid] == 2, f',"campaign_id":"{cat.CAMPAIGN_ID}"'))
    b.add("pay", session[paid], np.full(p, 3.04), pay)

    points = (
        JsonFields(p)
        .raw("points", encode.integers(np.maximum(1, paid_cents[paid] // 100)))
        .text("reason", "order")
        .text("order_id", order_id.filter(paid))
    )
    b.add("points_earned", session[paid], np.full(p, 3.05), points)

    complains = paid & (coupon == 2) & (rng.random(m) < CAMPAIGN_COMPLAINT)
    c = int(complains.sum())
    texts = cat.CAMPAIGN_COMPLAINTS
    complaint = (
        JsonFields(c)
        .text("type", "complaint")
        .text("text", encode.vocab(texts, rng.integers(0, len(texts), c)))
        .raw("rating", encode.integers(1 + (rng.random(c) < 0.3)))
        .text("campaign_id", cat.CAMPAIGN_ID)
        .text("order_id", order_id.filter(complains))
    )
    b.add("feedback", session[complains], np.full(c, 3.06), complaint)
    return first_order + m
