"""The gateway's web pages: server-rendered HTML behind a BFF login, served on the gateway's
HTTP port next to /api/v1 (issue 13). context.py holds the interfaces the areas share."""
