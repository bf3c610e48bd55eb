"""The knowledge upkeep and content review pages in Debian's Chromium against the real stack:
a publisher logs in on the page, drafts an FAQ entry from a candidate and submits it; an
administrator approves and publishes it in another browser; the assistant answers with it at
once; an inspector rejects a withheld reply on the review page. No script error on any page."""
from __future__ import annotations

import json
import urllib.request
import uuid

import pytest

from tests.conftest import reply_text

pytestmark = pytest.mark.e2e
WAIT_MS = 120_000
BBQ = ["深圳湾公园可以烧烤吗", "深圳湾公园能不能烧烤"]
BBQ_ANSWER = "深圳湾公园内禁止烧烤和使用明火，可到指定的户外烧烤场地，详情以公园公告为准。"


@pytest.fixture
async def pages(browser):
    """New pages, each in its own browser context (its own staff session); none may raise."""
    contexts, errors = [], []

    async def open_page(url: str):
        context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
        await page.goto(url)
        return page

    yield open_page
    for context in contexts:
        await context.close()
    assert not errors, errors


async def log_in(page, username: str, password: str) -> None:
    await page.locator("#login").wait_for(state="visible")
    await page.fill("#login input[name=username]", username)
    await page.fill("#login input[name=password]", password)
    await page.click("#login button[type=submit]")
    await page.locator("#app").wait_for(state="visible")


async def test_a_publisher_drafts_from_a_candidate_and_an_administrator_publishes(stack, pages):
    for question in BBQ:
        assert BBQ_ANSWER[:10] not in reply_text(stack.say("p-" + uuid.uuid4().hex[:10], question))

    publisher = await pages(stack.url + "/staff/admin/knowledge")
    await log_in(publisher, "publisher", "publisher-dev-pass")
    assert "信息发布员" in await publisher.locator("#who").inner_text()
    row = publisher.locator("#candidates tr", has_text=BBQ[0])
    await row.wait_for(timeout=WAIT_MS)
    assert "未覆盖" in await row.inner_text()
    await row.get_by_role("button", name="起草常见问题").click()
    editor = publisher.locator("#editor")
    await editor.wait_for(state="visible")
    assert (await editor.locator("input[name=question]").input_value()).startswith("深圳湾公园")
    assert BBQ[1] in await editor.locator("textarea[name=alt_questions]").input_value() or \
        BBQ[0] in await editor.locator("textarea[name=alt_questions]").input_value()
    await editor.locator("textarea[name=answer]").fill(BBQ_ANSWER)
    await editor.get_by_role("button", name="保存并提交审核").click()
    await publisher.locator("#message", has_text="已提交审核").wait_for()
    change = publisher.locator("#change")
    await change.get_by_text("待审核").first.wait_for()
    assert await change.get_by_role("button", name="审核通过").count() == 0      # never one's own

    admin = await pages(stack.url + "/staff/admin/knowledge")
    await log_in(admin, "admin", "admin-dev-pass")
    await admin.get_by_role("tab", name="修改与审核").click()
    await admin.locator("#changes tr", has_text="深圳湾公园").first.click()
    await admin.get_by_role("button", name="审核通过").click()
    await admin.locator("#message", has_text="已审核通过").wait_for()
    await admin.get_by_role("button", name="发布").click()
    await admin.locator("#message", has_text="已发布").wait_for()

    assert BBQ_ANSWER in reply_text(stack.say("p-" + uuid.uuid4().hex[:10], BBQ[1]))

    await admin.get_by_role("tab", name="条目与版本").click()
    await admin.fill("#entry-query", "深圳湾公园")
    await admin.click("#entry-search button[type=submit]")
    await admin.locator("#entries tr", has_text="深圳湾公园").first.click()
    entry = admin.locator("#entry")
    await entry.get_by_text("第1版").first.wait_for()
    assert "信息发布员" in await entry.locator("table").inner_text()           # the author is on record


async def test_an_inspector_rejects_a_withheld_reply_on_the_review_page(stack, pages):
    def hall(path: str, body: dict) -> dict:
        req = urllib.request.Request(stack.hall_url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"X-Hall-Key": "dev-hall-key-change-me", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    filed = hall("/api/v1/consultations", {
        "department": "深圳市公安局", "consultation_type": "办事咨询", "public": False, "subject": "护照加急",
        "content": "护照可以加急办理吗？", "attachments": [], "name": "李雷", "phone": "13800138002",
        "channel": "web", "item_code": ""})
    hall(f"/api/v1/consultations/{filed['number']}/answer", {"answer": "可以加急。网贷秒批，详询客服。", "staff": "出入境窗口"})
    stack.say("p-" + uuid.uuid4().hex[:10], f"{filed['number']}答复了吗")

    page = await pages(stack.url + "/staff/admin/safety")
    await log_in(page, "inspector", "inspector-dev-pass")
    card = page.locator(".card", has_text=filed["number"])
    await card.wait_for(timeout=WAIT_MS)
    assert "诈骗：网贷秒批" in await card.inner_text()
    assert await card.locator("mark").inner_text() == "网贷秒批"
    await card.locator("textarea").fill("答复被篡改，已通知出入境窗口")
    await card.get_by_role("button", name="不通过（确认违规）").click()
    await page.locator("#message", has_text="已审核不通过").wait_for()
    await page.locator(".card", has_text=filed["number"]).wait_for(state="detached")
    await page.select_option("#state", "decided")
    decided = page.locator(".card", has_text=filed["number"])
    await decided.wait_for()
    assert "未通过" in await decided.inner_text() and "inspector" in await decided.inner_text()


async def test_a_handler_is_refused_on_both_pages(stack, pages):
    for path in ("/staff/admin/knowledge", "/staff/admin/safety"):
        page = await pages(stack.url + path)
        await log_in(page, "police1", "police1-dev-pass")
        await page.locator("#message", has_text="您的角色无权").wait_for()
