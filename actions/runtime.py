"""Process-wide resources of the action server, created once at import (rasa-sdk imports the
package before it starts serving, so the server answers /health only when these are ready)."""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import redis as syncredis
import redis.asyncio as aioredis

from common.config import settings
from common.hall_client import HallClient
from knowledge.base import KnowledgeBase
from knowledge.live import LiveKnowledge
from scenes.matcher import SceneMatcher
from scenes.scene import Scene, load_all
from scenes.store import SceneStore

log = logging.getLogger(__name__)


def _model_dir() -> Path:
    cfg = settings()
    if cfg.embedding_model:
        return Path(cfg.embedding_model)
    from knowledge.embedding_model import ensure_model
    return ensure_model(cfg.cache_dir)


@lru_cache(maxsize=1)
def live_knowledge() -> LiveKnowledge:
    cfg = settings()
    # A short timeout: an unreachable Redis must not hold up a turn; the loaded base answers.
    overlay_store = syncredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db,
                                    socket_timeout=0.2, socket_connect_timeout=0.2)
    return LiveKnowledge.open(_model_dir(), cfg.cache_dir, overlay_store)


def knowledge() -> KnowledgeBase:
    """The catalog, FAQ and retriever with the latest published overlay (knowledge/live.py)."""
    return live_knowledge().current()


@lru_cache(maxsize=1)
def redis() -> aioredis.Redis:
    cfg = settings()
    return aioredis.Redis(host=cfg.redis_host, port=cfg.redis_port, db=cfg.redis_db)


@lru_cache(maxsize=1)
def hall() -> HallClient:
    cfg = settings()
    return HallClient(cfg.hall_url, cfg.hall_api_key, cfg.hall_timeout_s)


@lru_cache(maxsize=1)
def scenes() -> dict[str, Scene]:
    """Every scene, checked against the catalog: a scene naming an unknown item stops the server."""
    return load_all(set(knowledge().catalog.items))


@lru_cache(maxsize=1)
def scene_matcher() -> SceneMatcher:
    return SceneMatcher(scenes(), knowledge().retriever.encoder)


def scene_store() -> SceneStore:
    return SceneStore(redis())


# Loaded while rasa-sdk imports the actions, before it serves: the first citizen does not wait.
knowledge()
scene_matcher()
