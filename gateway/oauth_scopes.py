"""The one table of scope strings (docs/architecture.md "The request path", step 1: audience `nhn:samhandling`, scopes `nhn:samhandling/<scope>`)."""

SUMMARY_READ = "nhn:samhandling/summary.read"
SUMMARY_WRITE = "nhn:samhandling/summary.write"
CAPACITY_READ = "nhn:samhandling/capacity.read"
CAPACITY_REPORT = "nhn:samhandling/capacity.report"
ALERTS = "nhn:samhandling/alerts"
AUDIT_READ = "nhn:samhandling/audit.read"
PATIENT = "samhandling:patient"
