"""The demo world's vocabulary: channels, regions, platforms, goods, articles, features and the
Chinese texts its users write. Pure data plus seeded builders of the item and content catalogs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Acquisition channels (渠道) with their share of sign-ups and their planted next-day retention.
CHANNELS = ("应用商店", "抖音信息流", "小红书", "微信裂变", "百度搜索", "自然流量")
CHANNEL_SHARE = (0.22, 0.25, 0.14, 0.12, 0.11, 0.16)
# Day-1 retention each channel is planted with: 抖音信息流 at 20%, the others averaging 40%.
CHANNEL_DAY1 = (0.42, 0.20, 0.38, 0.45, 0.36, 0.39)
# Share of habitual ("loyal") users per channel: paid feed traffic brings fewer of them.
CHANNEL_LOYAL = (0.16, 0.05, 0.15, 0.18, 0.13, 0.17)
LOW_RETENTION_CHANNEL = 1

REGIONS = ("华东", "华北", "华南", "华中", "西南", "西北", "东北")
REGION_SHARE = (0.30, 0.19, 0.20, 0.11, 0.10, 0.05, 0.05)
DROP_REGION = 2  # 华南: its old users' repurchase rate drops from the change date
REGION_CITIES = (
    ("上海", "杭州", "南京", "苏州", "宁波", "合肥", "福州", "厦门", "济南", "青岛"),
    ("北京", "天津", "石家庄", "太原", "呼和浩特"),
    ("广州", "深圳", "东莞", "佛山", "南宁", "海口"),
    ("武汉", "长沙", "郑州", "南昌"),
    ("成都", "重庆", "昆明", "贵阳"),
    ("西安", "兰州", "乌鲁木齐", "银川"),
    ("沈阳", "大连", "哈尔滨", "长春"),
)

PLATFORMS = ("iOS", "Android", "小程序")
PLATFORM_SHARE = (0.35, 0.45, 0.20)
COLLAPSE_PLATFORM = 1  # Android: checkout→pay collapses on one day
# Usual checkout→pay conversion per platform, and the collapsed one.
PAY_CONVERSION = (0.76, 0.72, 0.66)
COLLAPSED_PAY_CONVERSION = 0.12
# What each platform's SDK reports as $lib (the mini program runs on the phone's own OS).
PLATFORM_LIB = ("posthog-ios", "posthog-android", "sa-sdk-miniprogram")
OS_NAMES = ("iOS", "Android")

GENDERS = ("女", "男")
AGE_GROUPS = ("18-24", "25-30", "31-40", "41-50", "50+")
AGE_SHARE = (0.24, 0.33, 0.25, 0.12, 0.06)

SURNAMES = tuple("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕")
GIVEN_CHARS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏晨宇欣怡子涵浩然思雨嘉琪"
)

EVENTS = (
    "app_open",
    "sign_up",
    "view_item",
    "add_to_cart",
    "checkout",
    "pay",
    "share",
    "invite",
    "sign_in",
    "read_article",
    "like",
    "comment",
    "use_feature",
    "feedback",
    "coupon_received",
    "coupon_used",
    "points_earned",
    "campaign_join",
    "experiment_exposure",
)
EV = {name: code for code, name in enumerate(EVENTS)}

# Product features (use_feature) with the chance an active user uses each on a given day.
FEATURES = (("搜索", 0.42), ("收藏夹", 0.16), ("比价助手", 0.07), ("客服咨询", 0.03))
# The planted feature: only its adopters use it (on their first day, then now and then).
TARGET_FEATURE = "AI穿搭助手"
TARGET_FEATURE_ADOPTION = 0.10
TARGET_FEATURE_REUSE = 0.35

# Goods: category, price range in yuan.
CATEGORIES = (
    ("服饰", 59, 399),
    ("美妆", 49, 499),
    ("食品", 9, 129),
    ("数码", 99, 2999),
    ("家居", 19, 599),
    ("母婴", 29, 399),
    ("运动户外", 49, 899),
)
N_ITEMS = 400
PAYMENT_METHODS = ("微信支付", "支付宝", "银行卡")
SHARE_TARGETS = ("微信好友", "朋友圈", "微博", "QQ")

COUPONS = {
    "newbie": ("CP-NEWBIE", "新人专享券", 2000),
    "campaign": ("CP-INVITE", "邀请有礼券", 3000),
    "discount": ("CP-MJ10", "满99减10", 1000),
}

TOPICS = (
    ("护肤", "美妆"),
    ("穿搭", "服饰"),
    ("健身", "运动户外"),
    ("露营", "运动户外"),
    ("咖啡", "食品"),
    ("零食", "食品"),
    ("减脂餐", "食品"),
    ("数码好物", "数码"),
    ("手机摄影", "数码"),
    ("家居收纳", "家居"),
    ("租房改造", "家居"),
    ("育儿", "母婴"),
)
TITLE_TEMPLATES = (
    "{topic}入门指南：新手必看的{n}个要点",
    "{n}个{topic}小技巧，最后一个太实用了",
    "{topic}避坑指南：这些钱千万别花",
    "实测{n}款{topic}单品，这款性价比最高",
    "{season}{topic}清单：闭眼入不踩雷",
    "为什么越来越多年轻人迷上了{topic}",
    "{topic}从零到一：一周养成好习惯",
    "月薪五千也能玩转{topic}",
)
SEASONS = ("春季", "夏日", "秋冬", "开学季", "年货节")
CONTENT_TAGS = ("干货", "测评", "种草", "教程", "清单", "避坑", "新手", "省钱")
N_CONTENT = 160

FEEDBACK_TYPES = ("complaint", "suggestion", "praise")
FEEDBACK_SHARE = (0.40, 0.35, 0.25)
FEEDBACK_TEXTS = (
    (
        "物流太慢了，下单一周还没发货",
        "客服回复太慢，问题一直没解决",
        "商品和描述不符，退款流程很麻烦",
        "App 经常闪退，付款时卡住",
        "优惠券规则看不懂，结算时用不了",
        "同样的东西比别的平台贵",
        "包装破损，收到时有划痕",
    ),
    (
        "希望增加夜间模式",
        "建议支持按价格区间筛选商品",
        "签到奖励可以再多一点",
        "文章希望能加收藏分类",
        "希望支持多个收货地址",
        "建议订单页显示预计送达时间",
    ),
    (
        "发货很快，包装也很用心",
        "客服态度很好，点赞",
        "文章很实用，学到了很多",
        "界面简洁，用起来很顺手",
        "签到送积分很棒，天天都来",
    ),
)
CAMPAIGN_COMPLAINTS = (
    "邀请好友的奖励券一直没到账",
    "活动规则写得不清楚，邀请了三个人也没拿到券",
    "活动券结算时提示不可用",
    "分享链接打不开，好友领不了券",
)

CAMPAIGN_ID = "cmp-invite-2026"
EXPERIMENT_ID = "exp-title-001"
EXPERIMENT_CONTENT_ID = "c9001"
EXPERIMENT_TITLES = (
    "秋冬穿搭指南：8个基础款搭配技巧",
    "衣柜里只要这8件，秋冬天天不重样",
)


@dataclass(frozen=True, slots=True, eq=False)
class ItemCatalog:
    """Goods on sale: category index and price in cents, and how popular each is."""

    category: npt.NDArray[np.int64]
    price_cents: npt.NDArray[np.int64]
    popularity: npt.NDArray[np.float64]  # sampling probabilities, sum to 1


@dataclass(frozen=True, slots=True)
class ContentItem:
    content_id: str
    title: str
    topic: str
    category: str
    tags: tuple[str, ...]
    published_day: int  # day index in the demo range; negative = before it
    like_rate: float
    comment_rate: float
    share_rate: float


def build_items(rng: np.random.Generator) -> ItemCatalog:
    category = rng.integers(0, len(CATEGORIES), N_ITEMS)
    lo = np.array([c[1] for c in CATEGORIES])[category]
    hi = np.array([c[2] for c in CATEGORIES])[category]
    # Log-uniform prices between the category bounds, ending in .9 or .0 as shops price them.
    yuan = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    cents = np.floor(yuan).astype(np.int64) * 100 + np.where(rng.random(N_ITEMS) < 0.6, 90, 0)
    weights = 1.0 / np.arange(1, N_ITEMS + 1) ** 0.9
    return ItemCatalog(category, cents, weights / weights.sum())


def build_content(rng: np.random.Generator, days: int) -> tuple[ContentItem, ...]:
    """Articles published from a month before the range to its last day, oldest first."""
    published = np.sort(rng.integers(-30, days, N_CONTENT))
    items = []
    for i, day in enumerate(published):
        topic, category = TOPICS[int(rng.integers(len(TOPICS)))]
        template = TITLE_TEMPLATES[int(rng.integers(len(TITLE_TEMPLATES)))]
        title = template.format(
            topic=topic, n=int(rng.integers(3, 11)), season=SEASONS[int(rng.integers(5))]
        )
        tag_idx = rng.choice(len(CONTENT_TAGS), size=2, replace=False)
        items.append(
            ContentItem(
                content_id=f"c{i + 1:04d}",
                title=title,
                topic=topic,
                category=category,
                tags=(topic, *(CONTENT_TAGS[int(j)] for j in tag_idx)),
                published_day=int(day),
                like_rate=round(float(rng.uniform(0.04, 0.22)), 3),
                comment_rate=round(float(rng.uniform(0.005, 0.04)), 3),
                share_rate=round(float(rng.uniform(0.01, 0.06)), 3),
            )
        )
    return tuple(items)
