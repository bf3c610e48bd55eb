"""The knowledge overlay's review workflow on a real redis-server: draft → submitted →
approved (never by the author) → published, one open change per entry, every published
version kept with author and reviewer, rollback to any earlier version or the YAML base, and
the overlay applied over the base as the action server loads it."""
import asyncio

import pytest
import redis
import redis.asyncio as aioredis

from knowledge import overlay
from knowledge.catalog import load_catalog
from knowledge.faq import load_faq
from knowledge.overlay_store import Actor, OverlayStore, WorkflowError, item_fields

pytest_plugins = ["tests.redis_server"]

CATALOG = load_catalog()
FAQ = load_faq(known_codes=set(CATALOG.items))
ALICE = Actor("alice", "发布员甲", "publisher")
BOB = Actor("bob", "发布员乙", "publisher")
ADMIN = Actor("admin", "管理员", "admin")
LIBRARY = {"question": "深圳图书馆的读者证怎么办理？", "alt_questions": ["图书馆借书证怎么办"],
           "answer": "持居民身份证到深圳图书馆总服务台或自助办证机即可办理读者证，押金可选，办理免费。",
           "item_code": "", "tags": ["图书馆"]}
RESIDENCE = "440300-001-QR-0001"


@pytest.fixture
async def store(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield OverlayStore(client, CATALOG, FAQ)
    await client.aclose()


async def published_version(store) -> int:
    return int(await store.redis.get(overlay.VERSION) or 0)


async def approved(store, fields=LIBRARY, kind="faq", target="", author=ALICE, reviewer=BOB) -> dict:
    change = await store.create(author, kind, target, fields)
    await store.submit(author, change["id"])
    return await store.review(reviewer, change["id"], True)


async def test_a_new_faq_entry_goes_through_review_before_it_is_published(store):
    change = await store.create(ALICE, "faq", "", LIBRARY, candidate="深圳图书馆读者证怎么办")
    assert change["state"] == "draft" and change["target"] == "kb-0001" and change["candidate"]
    with pytest.raises(WorkflowError) as refused:
        await store.edit(BOB, change["id"], LIBRARY)
    assert refused.value.status == 403                       # only the author edits a draft
    edited = await store.edit(ALICE, change["id"], {**LIBRARY, "answer": LIBRARY["answer"] + "可在线预约。"})
    assert edited["fields"]["answer"].endswith("可在线预约。")
    with pytest.raises(WorkflowError) as refused:
        await store.publish(ADMIN, change["id"])
    assert refused.value.status == 409                       # a draft is not published

    await store.submit(ALICE, change["id"])
    with pytest.raises(WorkflowError) as refused:
        await store.review(ALICE, change["id"], True)
    assert (refused.value.status, refused.value.code) == (403, "own_change")
    with pytest.raises(WorkflowError) as refused:
        await store.edit(ALICE, change["id"], LIBRARY)
    assert refused.value.status == 409                       # submitted: no more edits
    assert await published_version(store) == 0

    approved_change = await store.review(BOB, change["id"], True, "内容准确")
    assert approved_change["state"] == "approved" and approved_change["reviewer"] == "bob"
    done = await store.publish(ALICE, change["id"])
    assert done["state"] == "published" and done["version"] == 1
    assert [e["action"] for e in done["history"]] == ["create", "edit", "submit", "approve", "publish"]
    assert await published_version(store) == 1
    assert (await store.published("faq", "kb-0001"))["fields"]["question"] == LIBRARY["question"]
    [version] = await store.versions("faq", "kb-0001")
    assert (version["author"], version["reviewer"], version["published_by"]) == ("alice", "bob", "alice")
    assert version["published_at"] > 0
    assert await store.redis.get("kb:open:faq:kb-0001") is None
    titles = [e["title"] for e in await store.entries("faq", "读者证")]
    assert titles == [LIBRARY["question"]]


async def test_a_returned_change_needs_a_reason_and_goes_back_to_its_author(store):
    change = await store.create(ALICE, "faq", "", LIBRARY)
    await store.submit(ALICE, change["id"])
    with pytest.raises(WorkflowError) as refused:
        await store.review(ADMIN, change["id"], False)
    assert refused.value.code == "note_required"
    back = await store.review(ADMIN, change["id"], False, "请补充办理地点")
    assert back["state"] == "draft" and back["review_note"] == "请补充办理地点"
    await store.edit(ALICE, change["id"], {**LIBRARY, "answer": LIBRARY["answer"] + "地址：福田区福中一路2001号。"})
    assert (await store.submit(ALICE, change["id"]))["state"] == "submitted"


async def test_one_open_change_per_entry_and_a_discarded_one_frees_it(store):
    first = await store.create(ALICE, "faq", "general-001", {**faq_of("general-001"), "answer": "新的答案内容，至少十个字。"})
    with pytest.raises(WorkflowError) as refused:
        await store.create(BOB, "faq", "general-001", faq_of("general-001"))
    assert refused.value.status == 409 and first["id"] in refused.value.message
    with pytest.raises(WorkflowError):
        await store.discard(BOB, first["id"])                # not the author
    assert (await store.discard(ALICE, first["id"]))["state"] == "discarded"
    second = await store.create(BOB, "faq", "general-001", faq_of("general-001"))
    assert second["state"] == "draft"
    assert (await store.discard(ADMIN, second["id"]))["state"] == "discarded"     # an abandoned draft
    assert (await store.create(ALICE, "faq", "general-001", faq_of("general-001")))["state"] == "draft"
    with pytest.raises(WorkflowError) as refused:
        await store.create(ALICE, "faq", "no-such-entry", LIBRARY)
    assert refused.value.status == 404


def faq_of(entry_id: str) -> dict:
    e = FAQ[entry_id]
    return {"question": e.question, "alt_questions": list(e.alt_questions), "answer": e.answer,
            "item_code": e.item_code, "tags": list(e.tags)}


async def test_bad_fields_and_sensitive_words_are_refused_in_chinese(store):
    for fields, code in (({**LIBRARY, "answer": "太短"}, "invalid"), ({**LIBRARY, "item_code": "440300-999-XK-0001"}, "invalid"),
                         ("不是对象", "invalid")):
        with pytest.raises(WorkflowError) as refused:
            await store.create(ALICE, "faq", "", fields)
        assert refused.value.code == code and refused.value.status == 400
    change = await store.create(ALICE, "faq", "", {**LIBRARY, "answer": "加入我们刷单返利，每天轻松赚钱，详情咨询。"})
    with pytest.raises(WorkflowError) as refused:
        await store.submit(ALICE, change["id"])
    assert refused.value.code == "sensitive" and "诈骗：刷单返利" in refused.value.message


async def test_item_fields_are_changed_only_where_they_differ_from_the_catalog(store):
    base = item_fields(CATALOG.items[RESIDENCE])
    with pytest.raises(WorkflowError) as refused:
        await store.create(ALICE, "item", RESIDENCE, base)
    assert refused.value.code == "unchanged"
    with pytest.raises(WorkflowError) as refused:
        await store.create(ALICE, "item", RESIDENCE, {**base, "fees": {"charged": True, "standard": "每证20元", "basis": ""}})
    assert "收费依据" in refused.value.message
    with pytest.raises(WorkflowError) as refused:
        await store.create(ALICE, "item", RESIDENCE, {"name": "改名"})
    assert "不能在线修改" in refused.value.message
    materials = base["materials"] + [{"name": "居住登记回执", "originals": 1, "copies": 0, "required": True, "note": ""}]
    change = await approved(store, {**base, "materials": materials}, kind="item", target=RESIDENCE)
    assert set(change["fields"]) == {"materials"}
    await store.publish(ADMIN, change["id"])
    effective = await store.effective("item", RESIDENCE)
    assert effective["materials"][-1]["name"] == "居住登记回执" and effective["summary"] == base["summary"]


async def test_every_version_is_kept_and_rollback_publishes_an_earlier_one_again(store):
    first = await approved(store)
    await store.publish(BOB, first["id"])
    second = await approved(store, {**LIBRARY, "answer": "第二版：读者证可在i深圳App在线办理，无需到馆。"}, target="kb-0001",
                            author=BOB, reviewer=ADMIN)
    await store.publish(ADMIN, second["id"])
    assert (await store.published("faq", "kb-0001"))["fields"]["answer"].startswith("第二版")

    back = await store.rollback(ADMIN, "faq", "kb-0001", 1)
    assert back["version"] == 3 and back["rollback_of"] == 1
    assert (await store.published("faq", "kb-0001")) == {"version": 3, "fields": first["fields"]}
    gone = await store.rollback(ADMIN, "faq", "kb-0001", 0)
    assert gone["version"] == 4 and await store.published("faq", "kb-0001") is None
    history = await store.versions("faq", "kb-0001")
    assert [(v["version"], v["author"], v["reviewer"], v["rollback_of"]) for v in history] == [
        (1, "alice", "bob", None), (2, "bob", "admin", None), (3, "admin", "", 1), (4, "admin", "", 0)]
    assert await published_version(store) == 4
    for bad in (4, 5, -1):
        with pytest.raises(WorkflowError) as refused:
            await store.rollback(ADMIN, "faq", "kb-0001", bad)
        assert refused.value.status == 400
    with pytest.raises(WorkflowError) as refused:
        await store.rollback(ADMIN, "faq", "general-001", 0)
    assert refused.value.status == 404                       # never published: nothing to roll back


async def test_two_reviewers_at_once_approve_a_change_only_once(store):
    change = await store.create(ALICE, "faq", "", LIBRARY)
    await store.submit(ALICE, change["id"])
    results = await asyncio.gather(store.review(BOB, change["id"], True), store.review(ADMIN, change["id"], True),
                                   return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["WorkflowError", "dict"]
    assert [e["action"] for e in (await store.get(change["id"]))["history"]].count("approve") == 1


async def test_the_published_overlay_applies_over_the_yaml_base(store, redis_port):
    change = await approved(store)
    await store.publish(BOB, change["id"])
    retire = await approved(store, {"retired": True}, target="general-001")
    await store.publish(BOB, retire["id"])
    summary = "新的事项简介：非深户籍人员居住满半年可申领居住证，全程网办。"
    item = await approved(store, {**item_fields(CATALOG.items[RESIDENCE]), "summary": summary}, kind="item",
                          target=RESIDENCE)
    await store.publish(BOB, item["id"])
    await store.redis.hset(overlay.PUBLISHED, "item:440300-999-XK-0001", '{"version": 1, "fields": {"summary": "x"}}')

    version, published = overlay.read_published(redis.Redis(port=redis_port))
    assert version == 3 and len(published) == 4
    catalog, faq = overlay.apply(CATALOG, FAQ, published)
    assert faq["kb-0001"].question == LIBRARY["question"] and "general-001" not in faq
    assert catalog.items[RESIDENCE].summary == summary and CATALOG.items[RESIDENCE].summary != summary
    assert set(catalog.items) == set(CATALOG.items)          # the entry for an unknown item was skipped
    assert len(faq) == len(FAQ)                              # one added, one retired
