"""Export of filed consultations and complaints for the exchange platform's front-end node
(standard 6.3.4.2: "按照市网上办事大厅规定的 XML 格式，定期向前置节点提交 XML 数据文件").

    python -m hall.export OUT_DIR [--since ISO] [--dsn DSN] [--validate]

Writes one UTF-8 XML file per record, `<number>.xml`, valid against hall/schemas/exchange.xsd.
--since (a date or date-time, Shenzhen time when no offset is given) limits the export to
records filed or changed since then, so a scheduled run exports what is new: an answered
consultation or a completed complaint is written again with its new state (the same file name;
UpdatedAt tells the versions apart). Files appear atomically (written aside, then renamed), so
the node never reads half a file. The database is the hall's (HALL_DB_DSN / HALL_DB / HALL_VAR)
unless --dsn names another."""
from __future__ import annotations

import argparse
import os
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

from common.clock import TZ
from hall import schedule
from hall.db import Database

NS = "urn:hall-assistant:exchange:1"
XSD_PATH = Path(__file__).resolve().parent / "schemas" / "exchange.xsd"
DEFAULT_SENDER = "深圳市网上办事大厅"


def parse_since(text: str) -> str:
    """A date or date-time -> the hall's stored form (ISO, +08:00, seconds) for comparisons."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since must be an ISO date or date-time, not {text!r}")
    when = when.replace(tzinfo=TZ) if when.tzinfo is None else when.astimezone(TZ)
    return when.replace(microsecond=0).isoformat()


def _el(parent: ET.Element, tag: str, text=None) -> ET.Element:
    node = ET.SubElement(parent, f"{{{NS}}}{tag}")
    if text is not None:
        node.text = "true" if text is True else "false" if text is False else str(text)
    return node


def _common(node: ET.Element, row: dict, attachments: list[dict]) -> None:
    atts = _el(node, "Attachments")
    for a in attachments:
        att = _el(atts, "Attachment")
        _el(att, "Name", a["name"])
        _el(att, "ContentType", a["content_type"])
        _el(att, "Url", a["url"])
    applicant = _el(node, "Applicant")
    _el(applicant, "Name", row["name"])
    _el(applicant, "Phone", row["phone"])
    if row["id_number"]:
        _el(applicant, "IdNumber", row["id_number"])
    _el(node, "Channel", row["channel"])
    _el(node, "Status", row["status"])
    _el(node, "FiledAt", row["filed_at"])


def _department(node: ET.Element, row: dict) -> None:
    dept = _el(node, "Department")
    _el(dept, "Name", row["department"])
    _el(dept, "No", row["department_no"])


def _record(header: dict, record_type: str, tag: str) -> tuple[ET.Element, ET.Element]:
    record = ET.Element(f"{{{NS}}}ExchangeRecord", {"version": "1.0"})
    head = _el(record, "Header")
    _el(head, "RecordType", record_type)
    _el(head, "Sender", header["sender"])
    _el(head, "GeneratedAt", header["generated_at"])
    return record, _el(record, tag)


def consultation_xml(row: dict, attachments: list[dict], header: dict) -> ET.Element:
    record, node = _record(header, "consultation", "Consultation")
    _el(node, "Number", row["number"])
    _department(node, row)
    _el(node, "ConsultationType", row["consultation_type"])
    _el(node, "Public", bool(row["is_public"]))
    _el(node, "Subject", row["subject"])
    _el(node, "Content", row["content"])
    if row["item_code"]:
        _el(node, "ItemCode", row["item_code"])
    _common(node, row, attachments)
    _el(node, "AnswerDue", row["answer_due"])
    if row["answered_at"]:
        answer = _el(node, "Answer")
        _el(answer, "Text", row["answer"])
        _el(answer, "Staff", row["answered_by"])
        _el(answer, "AnsweredAt", row["answered_at"])
    _el(node, "UpdatedAt", row["updated_at"])
    return record


def complaint_xml(row: dict, attachments: list[dict], header: dict) -> ET.Element:
    record, node = _record(header, "complaint", "Complaint")
    _el(node, "Number", row["number"])
    _department(node, row)
    _el(node, "ComplaintType", row["complaint_type"])
    _el(node, "RespondentName", row["respondent_name"])
    _el(node, "Content", row["content"])
    if row["case_number"]:
        _el(node, "CaseNumber", row["case_number"])
    _common(node, row, attachments)
    _el(node, "TimeLimitDays", row["time_limit_days"])
    _el(node, "DueDate", row["due_date"])
    if row["completed_at"]:
        result = _el(node, "Result")
        _el(result, "Text", row["result"])
        if row["measures"]:
            _el(result, "Measures", row["measures"])
        _el(result, "Staff", row["handled_by"])
        _el(result, "CompletedAt", row["completed_at"])
    _el(node, "UpdatedAt", row["updated_at"])
    return record


def _write(record: ET.Element, path: Path) -> None:
    ET.register_namespace("", NS)
    tree = ET.ElementTree(record)
    ET.indent(tree)
    part = path.with_name(path.name + ".part")
    with open(part, "wb") as f:
        tree.write(f, encoding="UTF-8", xml_declaration=True)
        f.write(b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(part, path)


def export(db: Database, out_dir: Path, since: str | None = None, sender: str | None = None) -> list[Path]:
    """Writes the records changed since `since` (all when None); returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    header = {"sender": sender or os.environ.get("HALL_EXCHANGE_SENDER", DEFAULT_SENDER),
              "generated_at": schedule.now().isoformat()}
    since_text = parse_since(since) if since else ""
    written = []
    with db.read() as tx:
        for table, build in (("consultations", consultation_xml), ("complaints", complaint_xml)):
            for row in tx.execute(f"SELECT * FROM {table} WHERE updated_at >= ? ORDER BY number", (since_text,)):
                attachments = tx.execute("SELECT name, content_type, url FROM attachments WHERE number = ? "
                                         "ORDER BY seq", (row["number"],))
                path = out_dir / f"{row['number']}.xml"
                _write(build(row, attachments, header), path)
                written.append(path)
    return written


def validate(paths: list[Path]) -> list[str]:
    """Problems of the files against hall/schemas/exchange.xsd (needs lxml)."""
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(XSD_PATH)))
    problems = []
    for path in paths:
        doc = etree.parse(str(path))
        if not schema.validate(doc):
            problems += [f"{path.name}:{e.line}: {e.message}" for e in schema.error_log]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hall.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path, help="folder the front-end node collects files from")
    parser.add_argument("--since", help="only records filed or changed since this ISO date or date-time")
    parser.add_argument("--dsn", help="database (PostgreSQL DSN or SQLite path); default: the hall's")
    parser.add_argument("--sender", help=f"the Sender in each file's header (default {DEFAULT_SENDER})")
    parser.add_argument("--validate", action="store_true", help="check every file against the XSD (lxml)")
    args = parser.parse_args(argv)
    if args.since:
        try:
            parse_since(args.since)
        except ValueError as exc:
            parser.error(str(exc))
    from hall.config import database_target
    from hall.migrate import migrate

    db = Database(args.dsn or database_target(), pool_size=1)
    try:
        migrate(db)
        paths = export(db, args.out_dir, args.since, args.sender)
    finally:
        db.close()
    kinds = {"ZX": 0, "TS": 0}
    for p in paths:
        kinds[p.name[:2]] = kinds.get(p.name[:2], 0) + 1
    print(f"exported {kinds['ZX']} consultation(s) and {kinds['TS']} complaint(s) to {args.out_dir}")
    if args.validate:
        problems = validate(paths)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"all {len(paths)} file(s) valid against {XSD_PATH.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
