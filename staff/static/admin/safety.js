// Content review page: held public consultations and withheld assistant replies, with the
// matched words marked in the text, approved or rejected once by an administrator or inspector.
"use strict";

const {el, call, time, say} = Admin;
const API = "/staff/api/admin/safety";

function marked(text, words) {
  // Marks each listed word where it appears as written; disguised spellings stay unmarked
  // but are named in the list of matched words above the text.
  const parts = [];
  const pattern = words.map((w) => w.word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  if (!pattern) return [text];
  const re = new RegExp(pattern, "gi");
  let last = 0;
  for (const m of text.matchAll(re)) {
    parts.push(text.slice(last, m.index), el("mark", {}, m[0]));
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

function entryCard(e) {
  const note = el("textarea", {rows: 2, placeholder: "审核意见（可选）", "aria-label": "审核意见"});
  const decide = async (decision) => {
    say("message", "");
    try {
      await call("POST", `${API}/review/${encodeURIComponent(e.id)}/${decision}`, {note: note.value});
      say("message", decision === "approve" ? "已审核通过。" : "已审核不通过。");
      load();
    } catch (err) {
      say("message", err.message, true);
    }
  };
  const approveLabel = e.kind === "consultation" ? "通过（公开这条咨询）" : "通过（误拦截）";
  const rejectLabel = e.kind === "consultation" ? "不通过（保持不公开）" : "不通过（确认违规）";
  return el("div", {class: "card"},
    el("h3", {}, e.kind_name, " ", e.number ? `受理编号 ${e.number}` : "", " ",
      e.decision ? el("span", {class: e.decision.decision === "approved" ? "badge ok" : "badge bad"},
                      e.decision.decision === "approved" ? "已通过" : "未通过")
                 : el("span", {class: "badge warn"}, "待审核")),
    el("p", {class: "muted"}, `时间：${time(e.at)}；渠道：${e.channel || "—"}；会话：${e.conversation || "—"}`),
    el("p", {}, "命中：", e.words.map((w) => el("span", {class: "badge bad"}, `${w.category}：${w.word}`))),
    el("pre", {}, marked(e.text, e.words)),
    e.decision
      ? el("p", {class: "muted"}, `${time(e.decision.at)} 由 ${e.decision.by} 审核${e.decision.note ? "：" + e.decision.note : ""}`)
      : el("div", {class: "toolbar"}, note,
          el("button", {type: "button", onclick: () => decide("approve")}, approveLabel),
          el("button", {type: "button", class: "secondary", onclick: () => decide("reject")}, rejectLabel)));
}

async function load() {
  const state = document.getElementById("state").value;
  const box = document.getElementById("entries");
  try {
    const data = await call("GET", `${API}/review?state=${state}`);
    box.replaceChildren(...data.entries.map(entryCard));
    if (!data.entries.length) box.replaceChildren(el("p", {}, state === "pending" ? "没有待审核的内容。" : "暂无记录。"));
  } catch (err) {
    say("message", err.message, true);
  }
}

document.getElementById("reload").addEventListener("click", load);
document.getElementById("state").addEventListener("change", load);
Admin.start(() => load());
