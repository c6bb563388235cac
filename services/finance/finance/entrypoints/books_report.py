"""A close report as CSV (the csv module): one row per figure, section first."""

from __future__ import annotations

import csv
import io
from typing import Any

COLUMNS = ("section", "name", "debits", "credits", "amount", "detail")


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    day, currency = report["business_date"], report["currency"]
    writer.writerow(("close", "status", "", "", "", f"{day} {currency} {report['status']}"))
    for name, amount in report["figures"].items():
        writer.writerow(("figures", name, "", "", amount, ""))
    for account, balance in report["balances"].items():
        writer.writerow(("balances", account, "", "", balance, ""))
    for m in report["movements"]:
        net = m["debits"] - m["credits"]
        writer.writerow(("movements", m["account"], m["debits"], m["credits"], net, ""))
    for t in report["tieouts"]:
        detail = f"ledger {t['ledger']}, outside {t['outside']}"
        writer.writerow(("tieouts", t["check"], "", "", t["difference"], detail))
    for e in report["exceptions"]:
        name = f"exception:{e['exception_id']}"
        writer.writerow(("exceptions", name, "", "", "", f"{e['kind']} {e['object_id']}"))
    for a in report["acknowledged"]:
        writer.writerow(("acknowledged", a["item"], "", "", a["amount"], a["note"]))
    for b in report["blockers"]:
        writer.writerow(("blockers", b["item"], "", "", b["amount"], b["detail"]))
    for j in report["adjustments"]:
        detail = f"adjusts {j['adjusts_day']} ({j['stripe_object_id'] or j['source_event_id']})"
        writer.writerow(("adjustments", j["kind"], "", "", "", detail))
    return out.getvalue()
