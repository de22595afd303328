"""Checkpoints as C2SP signed notes: the golang.org/x/mod/sumdb/note reference vectors (the
PeterNeumann key and note of the package documentation, and EnochRoot's co-signature), round
trips, tampering, and every structural rule of signed-note and tlog-checkpoint v1.0.0."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from services.audit.checkpoints import (
    MAX_SIGNATURES,
    Checkpoint,
    MalformedKey,
    MalformedNote,
    NoteSigner,
    NoteVerifier,
    SignatureRejected,
    key_id,
    open_checkpoint,
    open_note,
    sign_checkpoint,
    sign_note,
)
from services.audit.merkle import EMPTY_ROOT, leaf_hash

# golang.org/x/mod/sumdb/note, package documentation.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
GO_PETER = (
    "\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_ENOCH = (
    "\u2014 EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
GO_NOTE = GO_TEXT + "\n" + GO_PETER
# Other implementations' vkeys (transparency-dev/formats tests; C2SP's example key): the second
# holds a '+' in its base64.
OTHER_VKEYS = (
    ENOCH_VKEY,
    "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
    "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
)

ORIGIN = "samhandling.example/audit-log"
LOG = NoteSigner.generate(ORIGIN)
ROOT = leaf_hash(b"first event")
CHECKPOINT = Checkpoint(ORIGIN, 1, ROOT)


def flip_signature_bit(note: str) -> str:
    """The note with one bit of its last signature (after the key id) flipped."""
    head, encoded = note[:-1].rsplit(" ", 1)
    signature = bytearray(base64.b64decode(encoded))
    signature[10] ^= 1
    return f"{head} {base64.b64encode(signature).decode()}\n"


def go_signer() -> NoteSigner:
    encoded = GO_SIGNER_KEY.split("+", 4)[4]  # PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)
    seed = base64.b64decode(encoded)
    assert seed[0] == 0x01
    return NoteSigner("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed[1:]))


def test_the_go_reference_note_is_reproduced_and_opened():
    signer = go_signer()
    assert signer.verifier.vkey == GO_VKEY
    assert signer.verifier.key_id.hex() == "c74f20a3"
    assert sign_note(GO_TEXT, [signer]) == GO_NOTE  # Ed25519 is deterministic
    opened = open_note(GO_NOTE, [NoteVerifier.from_vkey(GO_VKEY)])
    assert opened.text == GO_TEXT
    assert [v.vkey for v in opened.verified_by] == [GO_VKEY]
    assert open_note(GO_NOTE.encode(), [NoteVerifier.from_vkey(GO_VKEY)]).text == GO_TEXT


def test_signatures_by_unknown_keys_are_ignored():
    cosigned = GO_NOTE + GO_ENOCH
    peter, enoch = NoteVerifier.from_vkey(GO_VKEY), NoteVerifier.from_vkey(ENOCH_VKEY)
    assert open_note(cosigned, [peter]).verified_by == (peter,)
    assert open_note(cosigned, [enoch]).verified_by == (enoch,)
    assert open_note(cosigned, [enoch, peter]).verified_by == (peter, enoch)
    # Same name but another key id, or same key id under another name: unknown, so ignored.
    impostor_name = NoteVerifier("PeterNeumann", NoteSigner.generate("x").verifier.public_key)
    with pytest.raises(SignatureRejected, match="no known key"):
        open_note(cosigned.replace("EnochRoot", "Enoch"), [impostor_name, NoteVerifier("Enoch", enoch.public_key)])


def test_a_note_no_known_key_signed_is_rejected():
    with pytest.raises(SignatureRejected, match="no known key"):
        open_note(GO_NOTE, [LOG.verifier])
    with pytest.raises(SignatureRejected):
        open_note(GO_NOTE, [])


def test_a_bad_signature_by_a_known_key_rejects_the_whole_note():
    other = NoteSigner.generate("witness.example")
    note = sign_note(GO_TEXT, [go_signer(), other])
    forged = note.replace(GO_PETER, sign_note("another text\n", [go_signer()]).split("\n\n")[1])
    assert forged != note
    with pytest.raises(SignatureRejected, match="PeterNeumann"):
        open_note(forged, [NoteVerifier.from_vkey(GO_VKEY), other.verifier])


def test_vkeys_round_trip():
    assert NoteVerifier.from_vkey(GO_VKEY).vkey == GO_VKEY
    for vkey in OTHER_VKEYS:
        assert NoteVerifier.from_vkey(vkey).vkey == vkey
    assert NoteVerifier.from_vkey(LOG.verifier.vkey) == LOG.verifier
    public = LOG.verifier.public_key
    assert LOG.verifier.key_id == key_id(ORIGIN, public)


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # upper-case id
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # space in the name
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # no name
        "PeterNeumann+c74f20a3+Ahpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # type 0x02
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",  # 31-byte key
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",  # non-canonical base64
        "PeterNeumann+c74f20a3",
        "PeterNeumann",
    ],
)
def test_malformed_vkeys_are_refused(vkey):
    with pytest.raises(MalformedKey):
        NoteVerifier.from_vkey(vkey)


def test_checkpoints_round_trip():
    note = sign_checkpoint(CHECKPOINT, [LOG])
    assert note.startswith(f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} ")
    assert open_checkpoint(note, [LOG.verifier], ORIGIN) == CHECKPOINT
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    assert open_checkpoint(sign_checkpoint(empty, [LOG]), [LOG.verifier], ORIGIN) == empty
    biggest = Checkpoint(ORIGIN, 2**64 - 1, ROOT)
    assert open_checkpoint(sign_checkpoint(biggest, [LOG]), [LOG.verifier], ORIGIN) == biggest


def test_a_checkpoint_of_another_log_is_refused():
    other = NoteSigner.generate("elsewhere.example/log")
    note = sign_checkpoint(Checkpoint("elsewhere.example/log", 1, ROOT), [other])
    with pytest.raises(MalformedNote, match="elsewhere"):
        open_checkpoint(note, [other.verifier], ORIGIN)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda n: n.replace(ORIGIN + "\n", "samhandling.example/other-log\n", 1),  # origin
        lambda n: n.replace("\n1\n", "\n2\n", 1),  # size
        lambda n: n.replace(base64.b64encode(ROOT).decode(), base64.b64encode(EMPTY_ROOT).decode()),  # root
        lambda n: flip_signature_bit(n),
    ],
    ids=["origin", "size", "root", "signature"],
)
def test_tampered_checkpoints_are_rejected(tamper):
    note = sign_checkpoint(CHECKPOINT, [LOG])
    tampered = tamper(note)
    assert tampered != note
    with pytest.raises(SignatureRejected):
        open_note(tampered, [LOG.verifier])


VALID = sign_note("some text\n", [LOG])
SIGNATURE = VALID.split("\n\n")[1]


@pytest.mark.parametrize(
    "note",
    [
        "some text\n" + SIGNATURE,  # no blank line
        "some text\n\n",  # no signature
        VALID[:-1],  # the last signature line does not end in a newline
        "some text\n\n" + SIGNATURE.replace("\u2014", "-"),  # hyphen, not em dash
        "some text\n\n" + SIGNATURE.replace("\u2014 ", "\u2014  "),  # two spaces
        "some text\n\n" + SIGNATURE.replace(" ", "", 1),  # no space after the dash
        "some text\n\n" + SIGNATURE.replace(ORIGIN, ORIGIN + "+x"),  # plus in the key name
        "some text\n\n" + SIGNATURE.replace(ORIGIN, ""),  # empty key name
        "some text\n\n" + SIGNATURE.replace("\n", "=\n"),  # bad padding
        "some text\n\n" + SIGNATURE.replace("\n", " \n"),  # trailing space
        "some text\n\n\u2014 " + ORIGIN + " AAAAAA==\n",  # a signature shorter than 5 bytes
        "some\ttext\n\n" + SIGNATURE,  # a control character
        "some text\r\n\n" + SIGNATURE,
        "some text\n\n" + SIGNATURE + "\n",  # a blank line after the signatures
        "some text\n\n" + SIGNATURE + "not a signature\n",
        "some text\ud800\n\n" + SIGNATURE,  # not UTF-8
        b"some text\xff\n\n" + SIGNATURE.encode(),
        "some text\n\n" + SIGNATURE * (MAX_SIGNATURES + 1),
    ],
)
def test_malformed_notes_are_refused(note):
    with pytest.raises(MalformedNote):
        open_note(note, [LOG.verifier])


def test_the_last_blank_line_separates_text_and_signatures():
    text = "first paragraph\n\nsecond paragraph\n\n"
    assert open_note(sign_note(text, [LOG]), [LOG.verifier]).text == text


def test_many_signatures_up_to_the_limit_are_accepted():
    unknown = [NoteSigner.generate(f"witness{i}.example") for i in range(MAX_SIGNATURES - 1)]
    note = sign_note("some text\n", [*unknown, LOG])
    assert open_note(note, [LOG.verifier]).verified_by == (LOG.verifier,)


def test_notes_that_cannot_be_opened_are_not_signed():
    for text in ("no final newline", "a\tb\n", "lone \ud800 surrogate\n"):
        with pytest.raises(MalformedNote):
            sign_note(text, [LOG])
    with pytest.raises(MalformedNote):
        sign_note("text\n", [])


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n01\n{base64.b64encode(ROOT).decode()}\n",  # leading zero
        f"{ORIGIN}\n+1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n 1\n{base64.b64encode(ROOT).decode()}\n",
        f"{ORIGIN}\n\u0661\n{base64.b64encode(ROOT).decode()}\n",  # a non-ASCII digit
        f"{ORIGIN}\n{2**64}\n{base64.b64encode(ROOT).decode()}\n",  # beyond uint64
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT[:31]).decode()}\n",  # 31-byte root
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode().rstrip('=')}\n",  # unpadded
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}\nextension\n",  # extension lines: never signed here
        f"{ORIGIN}\n1\n{base64.b64encode(ROOT).decode()}",  # no final newline
        f"\n1\n{base64.b64encode(ROOT).decode()}\n",  # empty origin
        f"{ORIGIN}\n1\n",
    ],
)
def test_malformed_checkpoint_bodies_are_refused(text):
    with pytest.raises(MalformedNote):
        Checkpoint.from_text(text)


def test_checkpoints_hold_only_what_a_body_can_say():
    for origin, size, root in (("", 1, ROOT), ("a\nb", 1, ROOT), (ORIGIN, -1, ROOT), (ORIGIN, 1, ROOT[:31])):
        with pytest.raises(MalformedNote):
            Checkpoint(origin, size, root)


def test_signer_keys_are_pkcs8_pem():
    pem = LOG.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert NoteSigner.from_pem(ORIGIN, pem).verifier == LOG.verifier
    p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"x")
    )
    unencrypted_p256 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    encrypted = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(b"x")
    )
    for bad in (b"", b"not a key", p256, unencrypted_p256, encrypted):
        with pytest.raises(MalformedKey):
            NoteSigner.from_pem(ORIGIN, bad)
    with pytest.raises(MalformedKey):
        NoteSigner.generate("name with space")
    assert "PRIVATE" not in repr(LOG) and ORIGIN in repr(LOG)
