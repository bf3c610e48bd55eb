"""The action server's knowledge base follows the published overlay without a restart: with
the real e5 model and a real redis-server, a publish or rollback is seen by the next look-up,
only the passages that changed are encoded, and an unreachable Redis leaves the loaded
knowledge answering."""
import socket
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis

from common.config import settings
from knowledge.base import SURE, UNSURE
from knowledge.encoder import Encoder
from knowledge.live import LiveKnowledge
from knowledge.overlay_store import Actor, OverlayStore, item_fields
from tests.conftest import need_env

pytest_plugins = ["tests.redis_server"]

ALICE, BOB = Actor("alice", "发布员甲", "publisher"), Actor("bob", "发布员乙", "publisher")
QUESTION = "莲花山公园能放风筝吗"
KITE = {"question": "莲花山公园可以放风筝吗？", "alt_questions": ["在莲花山放风筝允许吗"],
        "answer": "莲花山公园山顶广场西侧草坪可以放风筝，请避开高压线和人群密集处，风筝线不得使用金属线。",
        "item_code": "", "tags": ["公园"]}
RESIDENCE = "440300-001-QR-0001"


@pytest.fixture(scope="module")
def encoder():
    return Encoder(Path(need_env("HALL_E5_MODEL")), settings().cache_dir / "passage-vectors")


@pytest.fixture
async def stores(redis_port):
    client = aioredis.Redis(port=redis_port)
    await client.flushdb()
    yield redis.Redis(port=redis_port), client
    await client.aclose()


async def publish(store: OverlayStore, kind: str, target: str, fields: dict) -> None:
    change = await store.create(ALICE, kind, target, fields)
    await store.submit(ALICE, change["id"])
    await store.review(BOB, change["id"], True)
    await store.publish(BOB, change["id"])


async def test_a_published_entry_is_answered_by_the_next_look_up_encoding_only_what_changed(encoder, stores):
    sync, client = stores
    live = LiveKnowledge(encoder, sync)
    store = OverlayStore(client, live.base_catalog, live.base_faq)
    before = live.current()
    assert before.search(QUESTION, k=1)[0].score < UNSURE and live.version == 0

    encoded = live.encoder.encoded
    await publish(store, "faq", "", KITE)
    kb = live.current()
    assert kb is not before and live.version == 1
    top = kb.search(QUESTION, k=1)[0]
    assert (top.kind, top.key) == ("faq", "kb-0001") and top.score >= SURE
    assert kb.faq["kb-0001"].answer == KITE["answer"]
    assert live.encoder.encoded - encoded == 2               # the new question and its other phrasing
    assert live.current() is kb                              # nothing new: nothing rebuilt

    encoded = live.encoder.encoded
    summary = "非深圳户籍人员居住登记满六个月即可在i深圳App申领居住证，全程网办，证件邮寄到家。"
    await publish(store, "item", RESIDENCE, {**item_fields(live.base_catalog.items[RESIDENCE]), "summary": summary})
    kb = live.current()
    assert kb.item(RESIDENCE).summary == summary and live.version == 2
    assert live.encoder.encoded - encoded == 1               # the item's own passage

    await store.rollback(BOB, "faq", "kb-0001", 0)
    kb = live.current()
    assert "kb-0001" not in kb.faq and kb.search(QUESTION, k=1)[0].key != "kb-0001"
    assert live.version == 3


def test_an_unreachable_redis_leaves_the_base_answering(encoder):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]                            # nothing listens there
    live = LiveKnowledge(encoder, redis.Redis(port=port, socket_connect_timeout=0.2, socket_timeout=0.2))
    kb = live.current()
    assert live.version == -1 and kb.search("居住证怎么办理", k=1)[0].code == RESIDENCE
    assert live.current() is kb
