"""Client side: reading a login page's form as a browser would (for non-interactive dev logins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class LoginForm:
    action: str = ""
    method: str = "get"
    kind: str | None = None  # the page's data-login: personnel or patient
    hidden: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)  # radio name -> values
    buttons: dict[str, list[str]] = field(default_factory=dict)  # submit name -> values


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.form: LoginForm | None = None
        self.alert: list[str] = []
        self._in_form = False
        self._in_alert = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.form is None:
            self.form = LoginForm(a.get("action", ""), a.get("method", "get").lower(), a.get("data-login"))
            self._in_form = True
        elif self._in_form and self.form is not None and tag in ("input", "button"):
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            name = a.get("name")
            if not name:
                return
            if kind == "hidden":
                self.form.hidden[name] = a.get("value", "")
            elif kind == "radio":
                self.form.choices.setdefault(name, []).append(a.get("value", ""))
            elif kind == "submit":
                self.form.buttons.setdefault(name, []).append(a.get("value", ""))
        elif a.get("role") == "alert":
            self._in_alert = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "p":
            self._in_alert = False

    def handle_data(self, data: str) -> None:
        if self._in_alert:
            self.alert.append(data)


def read_login_page(html: str) -> tuple[LoginForm | None, str]:
    """The page's first form, and the text of its alert (an error message), if any."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.form, " ".join("".join(reader.alert).split())
