"""The development login pages: plain server-rendered HTML forms, Norwegian labels. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from .client_registry import LoginKind
from .people import Person

AUTHORIZATIONS = {"LE": "lege", "SP": "sykepleier", "AA": "ambulansearbeider"}
_TITLES: dict[LoginKind, str] = {
    "personnel": "Logg inn som helsepersonell",
    "patient": "Logg inn med ID-porten",
}
_INTRO: dict[LoginKind, str] = {
    "personnel": "Utviklingsinnlogging som står i stedet for HelseID.",
    "patient": "Utviklingsinnlogging som står i stedet for ID-porten (sikkerhetsnivå høyt).",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
    "fieldset{border:1px solid #888;padding:1rem}label{margin-left:.4rem}"
    "button{font-size:1rem;padding:.4rem 1rem;margin:1rem .5rem 0 0}"
    ".feil{color:#a00;font-weight:bold}"
)


def login_page(
    *,
    kind: LoginKind,
    action: str,
    request_id: str,
    client_name: str,
    people: Sequence[Person],
    selected: str | None,
    error: str | None = None,
) -> str:
    """A form that posts `request_id`, `person` (the chosen pid) and `action` (login/cancel)."""
    options = "\n".join(_option(i, person, person.pid == selected) for i, person in enumerate(people))
    if not people:
        options = "<p>Ingen personer kan logge inn med denne klienten.</p>"
    alert = f'<p class="feil" role="alert" id="feil">{escape(error)}</p>' if error else ""
    described = ' aria-describedby="feil"' if error else ""
    return _document(
        _TITLES[kind],
        f"""<p>{escape(_INTRO[kind])} Klient: <strong>{escape(client_name)}</strong>.
Bare syntetiske testpersoner.</p>
{alert}
<form method="post" action="{escape(action)}" data-login="{kind}">
<input type="hidden" name="request_id" value="{escape(request_id)}">
<fieldset{described}>
<legend>Velg person</legend>
{options}
</fieldset>
<button type="submit" name="action" value="login">Logg inn</button>
<button type="submit" name="action" value="cancel" formnovalidate>Avbryt</button>
</form>""",
    )


def error_page(message: str) -> str:
    return _document("Innloggingen kan ikke fortsette", f'<p class="feil" role="alert">{escape(message)}</p>')


def _option(index: int, person: Person, checked: bool) -> str:
    if person.role == "auditor":
        text = f"{person.name} – {person.title}"
    elif person.kind == "personnel":
        role = AUTHORIZATIONS.get(person.authorization or "", person.authorization or "")
        text = f"{person.name} – {role}, HPR-nummer {person.hpr_number}"
    else:
        year, month, day = (person.birth_date or "--").split("-")
        text = f"{person.name}, født {day}.{month}.{year}"
    return (
        f'<div><input type="radio" id="person-{index}" name="person" value="{escape(person.pid)}" required'
        f'{" checked" if checked else ""}><label for="person-{index}">{escape(text)}</label></div>'
    )


def _document(title: str, body: str) -> str:
    return f"""<!doctype html>
<html lang="nb">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} – utviklings-STS</title>
<style>{_STYLE}</style>
</head>
<body>
<main>
<h1>{escape(title)}</h1>
{body}
</main>
</body>
</html>
"""
