"""The one table of scope strings (docs/architecture.md "The request path", step 1: audience `nhn:samhandling`, scopes `nhn:samhandling/<scope>`)."""

SUMMARY_READ = "nhn:samhandling/summary.read"
SUMMARY_WRITE = "nhn:samhandling/summary.write"
CAPACITY_READ = "nhn:samhandling/capacity.read"
CAPACITY_REPORT = "nhn:samhandling/capacity.report"
ALERTS = "nhn:samhandling/alerts"
AUDIT_READ = "nhn:samhandling/audit.read"
PATIENT = "samhandling:patient"
# The escalation inbox (docs/escalation.md "Through the gateway"): escalations delivered to the
# caller's organisation or sent from it, and its statistics; no patient data.
ESCALATION_INBOX = "nhn:samhandling/escalation.inbox"
