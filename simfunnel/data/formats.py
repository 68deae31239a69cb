"""CRM export formats: the column names, call outcomes, stages and date formats of each style.

Why here: the reader of CRM exports and the writer of synthetic ones must agree on them, and the
reader must not load the simulation to know them.
"""

from __future__ import annotations

__all__ = ["CALL_OUTCOMES", "DATE_FORMATS", "STAGES", "STYLES", "WON_FLAG"]

# Canonical column -> column name in each style, per table. calibration.py reads with these.
STYLES: dict[str, dict[str, dict[str, str]]] = {
    "hubspot": {
        "leads": {
            "lead_id": "Record ID",
            "created": "Create Date",
            "source": "Original Source",
            "score": "HubSpot Score",
            "mql_date": "Became a Marketing Qualified Lead Date",
            "sql_date": "Became a Sales Qualified Lead Date",
            "opportunity_date": "Became an Opportunity Date",
            "won_date": "Became a Customer Date",
            "lost_date": "Closed Lost Date",
            "amount": "Amount",
            "status": "Lead Status",
        },
        "calls": {
            "lead_id": "Associated Contact ID",
            "timestamp": "Activity Date",
            "outcome": "Call Outcome",
            "duration_s": "Call Duration (seconds)",
            "rep": "Activity Assigned To",
        },
        "opportunities": {
            "opportunity_id": "Deal ID",
            "lead_id": "Associated Contact ID",
            "created": "Create Date",
            "close_date": "Close Date",
            "stage": "Deal Stage",
            "amount": "Amount",
            "won": "Is Closed Won",
            "owner": "Deal Owner",
        },
    },
    "salesforce": {
        "leads": {
            "lead_id": "Lead ID",
            "created": "Created Date",
            "source": "Lead Source",
            "score": "Lead Score",
            "mql_date": "MQL Date",
            "sql_date": "SQL Date",
            "opportunity_date": "Converted Date",
            "won_date": "Closed Won Date",
            "lost_date": "Closed Lost Date",
            "amount": "Amount",
            "status": "Lead Status",
        },
        "calls": {
            "lead_id": "Who ID",
            "timestamp": "Activity Date",
            "outcome": "Call Result",
            "duration_s": "Call Duration In Seconds",
            "rep": "Assigned",
        },
        "opportunities": {
            "opportunity_id": "Opportunity ID",
            "lead_id": "Converted From Lead ID",
            "created": "Created Date",
            "close_date": "Close Date",
            "stage": "Stage",
            "amount": "Amount",
            "won": "Won",
            "owner": "Opportunity Owner",
        },
    },
}

# Canonical call outcomes -> the value each style writes (the reader maps them back).
CALL_OUTCOMES: dict[str, dict[str, str]] = {
    "hubspot": {"no_answer": "No answer", "connect": "Reached gatekeeper", "contact": "Connected"},
    "salesforce": {
        "no_answer": "No Answer",
        "connect": "Reached Reception",
        "contact": "Reached Contact",
    },
}
# Opportunity stages and won flags as each style writes them.
STAGES = {
    "hubspot": {"won": "closedwon", "lost": "closedlost", "open": "open"},
    "salesforce": {"won": "Closed Won", "lost": "Closed Lost", "open": "Negotiation"},
}
WON_FLAG = {"hubspot": ("true", "false"), "salesforce": ("1", "0")}
# ISO for HubSpot; month-first as a US Salesforce org writes it (the reader detects both).
DATE_FORMATS = {"hubspot": "%Y-%m-%d %H:%M", "salesforce": "%m/%d/%Y %H:%M"}
