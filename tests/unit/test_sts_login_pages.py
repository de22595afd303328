"""The development login pages render plain, escaped, accessible HTML forms."""

from services.sts.login_form import read_login_page
from services.sts.login_pages import error_page, login_page
from services.sts.people import Person
from tests.fixtures import people

LARS = Person(
    kind="personnel",
    pid=people.LARS,
    name="Lars Legevaktsen",
    hpr_number=people.LARS_HPR,
    authorization="LE",
    orgnr_parent="910000012",
)
ESKIL = Person(kind="patient", pid=people.ESKIL, name="Eskil <Eksempelsen>", birth_date="2008-10-22")


def test_the_personnel_form_round_trips_through_the_clients_reader() -> None:
    html = login_page(
        kind="personnel",
        action="http://sts/connect/authorize",
        request_id="r1",
        client_name="Demo legevakt",
        people=[LARS],
        selected=LARS.pid,
    )

    form, alert = read_login_page(html)

    assert form is not None and (form.action, form.method, form.kind) == (
        "http://sts/connect/authorize",
        "post",
        "personnel",
    )
    assert form.hidden == {"request_id": "r1"}
    assert form.choices == {"person": [LARS.pid]}
    assert form.buttons == {"action": ["login", "cancel"]}
    assert alert == ""
    assert "Lars Legevaktsen – lege, HPR-nummer 990000102" in html and " checked>" in html


def test_the_patient_form_escapes_and_shows_the_birth_date_norwegian_style() -> None:
    html = login_page(
        kind="patient",
        action="/a",
        request_id='"><script>',
        client_name="<b>web</b>",
        people=[ESKIL],
        selected=None,
        error="Velg en person.",
    )

    form, alert = read_login_page(html)

    assert "<script>" not in html and "<b>web</b>" not in html and "<Eksempelsen>" not in html
    assert form is not None and form.hidden == {"request_id": '"><script>'} and form.kind == "patient"
    assert "født 22.10.2008" in html
    assert alert == "Velg en person." and 'aria-describedby="feil"' in html
    assert '<html lang="nb">' in html and "<h1>Logg inn med ID-porten</h1>" in html


def test_the_error_page_is_an_alert() -> None:
    _, alert = read_login_page(error_page("Innloggingen er utløpt."))

    assert alert == "Innloggingen er utløpt."


def test_an_auditor_is_offered_by_name_and_title_without_an_hpr_number() -> None:
    petra = Person(
        kind="personnel",
        pid=people.PETRA,
        name="Petra Personvernsen",
        title="personvernombud",
        orgnr_parent="910000012",
        orgnr_child="910000020",
        role="auditor",
    )

    html = login_page(
        kind="personnel",
        action="/a",
        request_id="r1",
        client_name="Samhandling – ansatt",
        people=[petra],
        selected=None,
    )

    form, _ = read_login_page(html)
    assert form is not None and form.choices == {"person": [petra.pid]}
    assert "Petra Personvernsen – personvernombud</label>" in html and "HPR" not in html
