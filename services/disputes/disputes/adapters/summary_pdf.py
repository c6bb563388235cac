"""The evidence summary as a PDF (fpdf2): one document a bank's reviewer reads first.

fpdf2's core fonts are Latin-1: other characters are replaced rather than refused. The
creation date is the case's, so the same evidence renders the same bytes (and sha256).
"""

from __future__ import annotations

from datetime import datetime

from fpdf import FPDF

TITLES = {
    "product_description": "What was sold",
    "service_date": "Service date",
    "customer_purchase_ip": "Purchase IP address",
    "access_activity_log": "Activity: checkout, signatures, stay",
    "uncategorized_text": "Other evidence",
    "cancellation_policy_disclosure": "Cancellation policy the guest accepted",
    "refund_policy_disclosure": "Refund policy",
    "refund_refusal_explanation": "Refunds",
    "cancellation_rebuttal": "Cancellation",
    "duplicate_charge_explanation": "Charges",
}


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def render(header: dict[str, str], text: dict[str, str], created: datetime) -> bytes:
    """A PDF: the case's header lines, then each evidence text field under its title."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created)
    pdf.set_title(_latin1(f"Dispute evidence {header.get('Dispute', '')}"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.cell(0, 10, "Dispute evidence summary", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for name, value in header.items():
        pdf.multi_cell(0, 5, _latin1(f"{name}: {value}"), new_x="LMARGIN", new_y="NEXT")
    for name, value in text.items():
        pdf.ln(3)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 8, _latin1(TITLES.get(name, name)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        pdf.multi_cell(0, 4.5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
