"""Export of consultations and complaints as XML files for the exchange platform's front-end
node (6.3.4.2), each file valid against hall/schemas/exchange.xsd."""
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from lxml import etree

from hall import export, filings, schedule
from hall.app import open_store
from tests.hall.common import COMPLAINT, CONSULTATION, Clock, FRIDAY

pytest_plugins = ["tests.hall.plugin"]
ROOT = Path(__file__).resolve().parents[2]
NS = {"x": export.NS}
SCHEMA = etree.XMLSchema(etree.parse(str(export.XSD_PATH)))


def fill(store, clock: Clock) -> dict[str, str]:
    """Files two consultations and two complaints (one each answered/completed later)."""
    numbers = {}
    numbers["open_consultation"] = filings.file_consultation(store, CONSULTATION, None, "s")[1]["number"]
    numbers["answered"] = filings.file_consultation(
        store, {**CONSULTATION, "public": True, "item_code": "", "department": "由大厅分派",
                "attachments": [{"name": "截图 1.png", "content_type": "image/png",
                                 "url": "https://files.example.cn/a b.png"}]}, None, "s")[1]["number"]
    numbers["open_complaint"] = filings.file_complaint(store, COMPLAINT, None, "s")[1]["number"]
    numbers["completed"] = filings.file_complaint(
        store, {**COMPLAINT, "case_number": "", "attachments": [], "respondent_name": "工号A0231 <窗口>",
                "content": "窗口人员说“材料不全”却不告诉缺什么 & 让我下周再来。"}, None, "s")[1]["number"]
    clock.set(FRIDAY + timedelta(days=3, hours=1))                       # Monday 30 November, 11:00
    filings.answer_consultation(store, numbers["answered"], {"answer": "已转公安局答复。", "staff": "大厅"})
    filings.complaint_result(store, numbers["completed"], {"result": "已约谈当事窗口人员。", "staff": "督查科"})
    return numbers


@pytest.fixture
def store(db_target, clock):
    s = open_store(db_target, clock)
    yield s
    s.close()


def test_every_exported_file_is_valid_against_the_xsd(store, clock, tmp_path):
    numbers = fill(store, clock)
    paths = export.export(store.db, tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(f"{n}.xml" for n in numbers.values())
    for path in paths:
        raw = path.read_bytes()
        assert raw.startswith(b"<?xml version='1.0' encoding='UTF-8'?>") or raw.startswith(b'<?xml version="1.0"')
        doc = etree.parse(str(path))
        assert SCHEMA.validate(doc), (path.name, [e.message for e in SCHEMA.error_log])
    assert export.validate(paths) == []
    assert not list((tmp_path / "out").glob("*.part"))

    answered = etree.parse(str(tmp_path / "out" / f"{numbers['answered']}.xml"))
    assert answered.findtext("x:Header/x:RecordType", namespaces=NS) == "consultation"
    c = answered.find("x:Consultation", NS)
    assert c.findtext("x:Department/x:No", namespaces=NS) == "000" and c.findtext("x:Public", namespaces=NS) == "true"
    assert c.findtext("x:Answer/x:Text", namespaces=NS) == "已转公安局答复。"
    assert c.findtext("x:Attachments/x:Attachment/x:Url", namespaces=NS) == "https://files.example.cn/a b.png"
    assert c.findtext("x:Applicant/x:Phone", namespaces=NS) == CONSULTATION["phone"]

    completed = etree.parse(str(tmp_path / "out" / f"{numbers['completed']}.xml")).find("x:Complaint", NS)
    assert completed.findtext("x:RespondentName", namespaces=NS) == "工号A0231 <窗口>"      # escaped and back
    assert "“材料不全”" in completed.findtext("x:Content", namespaces=NS)
    assert completed.findtext("x:TimeLimitDays", namespaces=NS) == "5"
    assert completed.findtext("x:DueDate", namespaces=NS) == "2026-12-04"
    assert completed.findtext("x:Result/x:Text", namespaces=NS) == "已约谈当事窗口人员。"
    assert completed.find("x:CaseNumber", NS) is None
    opened = etree.parse(str(tmp_path / "out" / f"{numbers['open_complaint']}.xml")).find("x:Complaint", NS)
    assert opened.find("x:Result", NS) is None and opened.findtext("x:CaseNumber", namespaces=NS) == COMPLAINT["case_number"]


def test_since_exports_only_what_changed(store, clock, tmp_path):
    numbers = fill(store, clock)
    since = export.export(store.db, tmp_path / "since", since="2026-11-30")
    assert sorted(p.stem for p in since) == sorted([numbers["answered"], numbers["completed"]])
    assert export.export(store.db, tmp_path / "later", since="2026-11-30T12:00:00+08:00") == []
    # 02:00 UTC on 30 November is 10:00 in Shenzhen: before the 11:00 changes.
    assert len(export.export(store.db, tmp_path / "utc", since="2026-11-30T02:00:00+00:00")) == 2
    with pytest.raises(ValueError):
        export.parse_since("last week")


def test_an_invalid_record_is_caught_by_the_xsd(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text(f'<?xml version="1.0" encoding="UTF-8"?>\n<ExchangeRecord xmlns="{export.NS}" version="1.0">'
                   "<Header><RecordType>complaint</RecordType><Sender>x</Sender>"
                   "<GeneratedAt>2026-11-27T10:00:00+08:00</GeneratedAt></Header>"
                   "<Complaint><Number>TS1</Number></Complaint></ExchangeRecord>", encoding="utf-8")
    assert export.validate([bad])


def test_the_command_line_writes_and_validates(tmp_path):
    db_path = tmp_path / "hall.db"
    store = open_store(str(db_path))
    try:
        filings.file_complaint(store, COMPLAINT, None, "s")
        filings.file_consultation(store, CONSULTATION, None, "s")
    finally:
        store.close()
    out = tmp_path / "node"
    done = subprocess.run([sys.executable, "-m", "hall.export", str(out), "--dsn", str(db_path), "--validate",
                           "--since", schedule.now().date().isoformat()],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "exported 1 consultation(s) and 1 complaint(s)" in done.stdout and "valid against" in done.stdout
    assert len(list(out.glob("*.xml"))) == 2
    bad = subprocess.run([sys.executable, "-m", "hall.export", str(out), "--dsn", str(db_path), "--since", "soon"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, env={"PYTHONPATH": str(ROOT)})
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_the_xsd_is_documented_in_the_readme():
    readme = (ROOT / "hall" / "README.md").read_text(encoding="utf-8")
    assert "hall/schemas/exchange.xsd" in readme and "python -m hall.export" in readme
