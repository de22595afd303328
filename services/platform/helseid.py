"""HelseID's vocabulary (docs/architecture.md "The request path", step 1), shared by the gateway that validates tokens and the
development STS that issues them: claim names, the algorithm allow-list, the trust framework."""

PID = "helseid://claims/identity/pid"
SECURITY_LEVEL = "helseid://claims/identity/security_level"
HPR_NUMBER = "helseid://claims/hpr/hpr_number"
ORGNR_PARENT = "helseid://claims/client/claims/orgnr_parent"
ORGNR_CHILD = "helseid://claims/client/claims/orgnr_child"
CLIENT_NAME = "helseid://claims/client/client_name"  # for logs and display, never access control
CLIENT_AMR = "helseid://claims/client/amr"

TRUST_FRAMEWORK = "nhn:tillitsrammeverk:parameters"
PURPOSE_OF_USE_SYSTEM = "urn:oid:2.16.840.1.113883.1.11.20448"  # HL7 v3 PurposeOfUse

DEFAULT_AUDIENCE = "nhn:samhandling"

# Asymmetric only: `none` and HMAC algorithms are never accepted for tokens or assertions.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
