"""Candidate FAQ entries for the knowledge admin page (standard 9.3.1.4): the questions the
assistant could not answer (the "unanswered" stream) and the hall's recent consultations,
grouped by knowledge/candidates.py with the retriever's encoder. Like agent assist, the gateway
calls this action directly on the action server's webhook: the encoder is loaded here only.
Parameters come in the latest message's metadata: days (look-back), min_size, limit."""
from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from functools import lru_cache

from rasa_sdk import Action

from actions.runtime import hall, knowledge, redis
from common import unanswered
from common.hall_client import HallRejected, HallUnavailable
from common.identity import mask_text
from knowledge.candidates import QueryVectors, Question, candidates

log = logging.getLogger(__name__)
MAX_UNANSWERED = 5000
MAX_CONSULTATIONS = 2000


def _bounded(params: dict, name: str, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(params.get(name, default)), low), high)
    except (TypeError, ValueError):
        return default


@lru_cache(maxsize=1)
def query_vectors() -> QueryVectors:
    return QueryVectors(knowledge().retriever.encoder)


async def consultations(since: float) -> tuple[list[Question], bool]:
    """The hall's consultations filed since then: subject and content, masked."""
    try:
        rows = await hall().consultations(datetime.fromtimestamp(since).date(), MAX_CONSULTATIONS)
    except (HallUnavailable, HallRejected) as exc:
        log.warning("consultations unavailable for FAQ candidates: %s", exc)
        return [], False
    out = []
    for r in rows:
        text = r["subject"] if len(r.get("subject") or "") >= 6 else r.get("content", "")
        filed = datetime.fromisoformat(r["filed_at"]).timestamp() if r.get("filed_at") else 0.0
        out.append(Question(mask_text(text), "consultation", r.get("channel", ""), filed))
    return out, True


class ActionFaqCandidates(Action):
    def name(self) -> str:
        return "action_faq_candidates"

    async def run(self, dispatcher, tracker, domain):
        params = tracker.latest_message.get("metadata") or {}
        days = _bounded(params, "days", 30, 1, 365)
        min_size = _bounded(params, "min_size", 2, 1, 1000)
        limit = _bounded(params, "limit", 50, 1, 200)
        since = time.time() - days * 86400
        started = time.monotonic()
        misses = [Question(r["text"], "unanswered", r.get("channel", ""), float(r.get("at") or 0))
                  for r in await unanswered.since(redis(), since, MAX_UNANSWERED)]
        asked, hall_ok = await consultations(since)
        kb = knowledge()
        # Encoding hundreds of questions takes a while: off the event loop, so turns go on.
        found = await asyncio.to_thread(candidates, misses + asked, kb, query_vectors(), min_size, limit)
        log.info("FAQ candidates: %d unanswered, %d consultations -> %d candidates in %.0f ms", len(misses),
                 len(asked), len(found), (time.monotonic() - started) * 1000)
        dispatcher.utter_message(json_message={"candidates": found, "unanswered": len(misses),
                                               "consultations": len(asked), "hall_available": hall_ok,
                                               "days": days, "min_size": min_size})
        return []
