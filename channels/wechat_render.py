"""How the assistant's replies look on WeChat.

A reply's buttons become a numbered menu of WeChat's in-text menu links
(weixin://bizmsgmenu): tapping one sends its title back with the link's msgmenuid, and typing
the number works too (the gateway resolves bare digits, see channels/menus.py). Text messages
are limited to 2048 bytes, so long replies are split at line or sentence ends and short
consecutive ones are joined: a passive reply carries a single message. A reply with an image
becomes a news card (图文消息)."""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field

from wechatpy.messages import BaseMessage
from wechatpy.replies import ArticlesReply, TextReply, TransferCustomerServiceReply

from common.reply import Reply

TEXT_LIMIT_BYTES = 2048
TITLE_CHARS, DESCRIPTION_CHARS = 32, 120
MENU_HINT = "（点击选项或回复序号）"
# msgmenuid = option number * MENU_ID_BASE + a checksum of the option's payload, so a tap on a
# menu of an earlier message is not taken for the option with the same number now.
MENU_ID_BASE = 10000
_SENTENCE_END = "。！？；!?;"
_LINK = re.compile(r"https?://[^\s，。；、）)]+")
_UNSAFE_IN_LINK = str.maketrans("", "", "&\"<>=?#")


@dataclass
class Outgoing:
    """One WeChat message, and what the outbox keeps instead when it cannot be sent."""
    kind: str                                   # "text", "news" or "transfer"
    content: str = ""
    article: dict = field(default_factory=dict)  # news: title, description, url, picurl
    kept: list[Reply] = field(default_factory=list)

    def custom_message(self, openid: str) -> dict:
        """The customer-service API body (客服消息)."""
        if self.kind == "news":
            return {"touser": openid, "msgtype": "news", "news": {"articles": [self.article]}}
        return {"touser": openid, "msgtype": "text", "text": {"content": self.content}}

    def passive_reply(self, message: BaseMessage) -> str:
        """The XML answering `message` directly (被动回复)."""
        if self.kind == "transfer":
            return TransferCustomerServiceReply(message=message).render()
        if self.kind == "news":
            a = self.article
            return ArticlesReply(message=message, articles=[
                {"title": a["title"], "description": a["description"], "image": a["picurl"], "url": a["url"]}]).render()
        return TextReply(message=message, content=self.content).render()


def utf8_len(text: str) -> int:
    return len(text.encode())


def clean(text: str) -> str:
    """Passive replies put text in CDATA sections, which "]]>" would end."""
    return text.replace("]]>", "]] >")


def payload_checksum(payload: str) -> int:
    return zlib.crc32(payload.encode()) % MENU_ID_BASE


def menu_id(number: int, payload: str) -> int:
    return number * MENU_ID_BASE + payload_checksum(payload)


def menu_choice(msgmenuid: str) -> tuple[int, int] | None:
    """(option number, payload checksum) of a tapped menu link's id."""
    if not msgmenuid.isdigit() or int(msgmenuid) < MENU_ID_BASE:
        return None
    return divmod(int(msgmenuid), MENU_ID_BASE)


def menu_line(number: int, button: dict) -> str:
    title = clean(str(button.get("title") or button["payload"])).translate(_UNSAFE_IN_LINK).strip() or str(number)
    link = f"weixin://bizmsgmenu?msgmenucontent={title}&msgmenuid={menu_id(number, button['payload'])}"
    return f'{number}. <a href="{link}">{title}</a>'


def _cut_line(line: str, limit: int) -> list[str]:
    """A line longer than the limit, cut after the last sentence end that fits (else anywhere)."""
    pieces = []
    while utf8_len(line) > limit:
        fit = len(line.encode()[:limit].decode(errors="ignore"))
        ends = [line.rfind(p, 0, fit) for p in _SENTENCE_END]
        cut = max(ends) + 1 if max(ends) >= fit // 2 else fit
        pieces.append(line[:cut])
        line = line[cut:]
    return pieces + ([line] if line else [])


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Chunks of at most `limit` bytes, broken between lines where possible."""
    chunks: list[str] = []
    current = ""
    for line in (p for raw in text.split("\n") for p in (_cut_line(raw, limit) or [""])):
        candidate = f"{current}\n{line}" if current else line
        if utf8_len(candidate) <= limit:
            current = candidate
        else:
            chunks.append(current)
            current = line
    if current.strip():
        chunks.append(current)
    return chunks


def _trim(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def _text_blocks(reply: Reply, menu: list[str]) -> list[Outgoing]:
    chunks = split_text(clean(reply.text.strip())) if reply.text.strip() else []
    blocks = [Outgoing("text", c, kept=[Reply(text=c)]) for c in chunks]
    if not menu:
        return blocks
    menu_text = "\n".join(menu + [MENU_HINT])
    if blocks and utf8_len(f"{blocks[-1].content}\n{menu_text}") <= TEXT_LIMIT_BYTES:
        last = blocks.pop()
        return blocks + [Outgoing("text", f"{last.content}\n{menu_text}", kept=[Reply(text=last.content, buttons=reply.buttons)])]
    menu_chunks = split_text(menu_text)
    return blocks + [Outgoing("text", c, kept=[]) for c in menu_chunks[:-1]] + [
        Outgoing("text", menu_chunks[-1], kept=[Reply(text="", buttons=reply.buttons)])]


def _news_blocks(reply: Reply, menu: list[str]) -> list[Outgoing]:
    """A news card: first line as title, the rest as description, the reply's first link (else
    the image) as the card's link. The whole text follows when the card cannot show it all."""
    first, _, body = clean(reply.text.strip()).partition("\n")
    links = _LINK.findall(reply.text)
    url = links[0] if links else reply.image
    title = _trim(first or "详情", TITLE_CHARS)
    card = Outgoing("news", article={"title": title, "description": _trim(body.strip(), DESCRIPTION_CHARS),
                                     "url": url, "picurl": reply.image},
                    kept=[Reply(text=f"{title}\n{url}")])       # images cannot wait in the outbox
    if len(body.strip()) > DESCRIPTION_CHARS or len(first) > TITLE_CHARS or menu:
        return [card] + _text_blocks(Reply(text=reply.text, buttons=reply.buttons), menu)
    # Alone, the card carries the whole reply: what the outbox keeps of it must too.
    whole = clean(reply.text.strip())
    if whole:
        card.kept = [Reply(text=whole if url in whole else f"{whole}\n{url}")]
    return [card]


def _joined(blocks: list[Outgoing]) -> list[Outgoing]:
    """Consecutive text blocks joined while they fit in one message."""
    out: list[Outgoing] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (prev and prev.kind == block.kind == "text"
                and utf8_len(f"{prev.content}\n\n{block.content}") <= TEXT_LIMIT_BYTES):
            out[-1] = Outgoing("text", f"{prev.content}\n\n{block.content}", kept=prev.kept + block.kept)
        else:
            out.append(block)
    return out


def wants_handoff(replies: list[Reply]) -> bool:
    return any(isinstance(r.custom, dict) and "handoff" in r.custom for r in replies)


def render(replies: list[Reply], transfer: bool = False) -> list[Outgoing]:
    """The WeChat messages for a turn's replies, in order. Options are numbered across all the
    replies, as channels/menus.py numbers them. `transfer`: hand the user to WeChat's own
    staff system (客服系统) when a reply asks for a person; only a passive reply can."""
    blocks: list[Outgoing] = []
    number = 0
    for reply in replies:
        options = [b for b in reply.buttons if b.get("payload")]
        menu = [menu_line(number + i, b) for i, b in enumerate(options, 1)]
        number += len(options)
        blocks += _news_blocks(reply, menu) if reply.image else _text_blocks(reply, menu)
    head = [Outgoing("transfer")] if transfer and wants_handoff(replies) else []
    return head + _joined(blocks)
