"""The gateway's HTTP side: the JSON API under /api/v1, mapped route by route onto the gRPC
methods of the policy table and run through the same Enforcer (docs/architecture.md "The request path")."""
