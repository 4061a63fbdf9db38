"""The in-memory denylist every process checks after a token's signature: by jti, by subject and
issuer, "issued before T", and what the Redis layout stores of each entry."""

from __future__ import annotations

import pytest

from proxy.auth.revocation import ANY_ISSUER, GATEWAY_ISSUER, Denylist, SubjectEntry, TokenMark
from revocation import store


def mark(jti: str = "j1", issuer: str = "https://idp", subject: str = "ann", iat: float | None = 100.0) -> TokenMark:
    return TokenMark(jti=jti, issuer=issuer, subject=subject, issued_at=iat)


def test_a_listed_jti_is_revoked_and_others_are_not() -> None:
    denylist = Denylist()
    denylist.add_jti("j1", expires_at=200)

    assert denylist.revoked(mark("j1"))
    assert not denylist.revoked(mark("j2"))
    assert not denylist.revoked(mark(""))  # a token without jti is not "the empty jti"


def test_a_subject_revocation_refuses_tokens_issued_before_its_time_only() -> None:
    denylist = Denylist()
    denylist.add_subject("https://idp", "ann", SubjectEntry(issued_before=150, expires_at=1000))

    assert denylist.revoked(mark(iat=149))
    assert not denylist.revoked(mark(iat=150))  # issued after the revocation: a new sign-in works
    assert denylist.revoked(mark(iat=None))  # cannot show it was issued later
    assert not denylist.revoked(mark(subject="bob", iat=1))
    assert not denylist.revoked(mark(issuer="https://other", iat=1))  # another issuer's "ann"


def test_a_subject_revocation_without_an_issuer_covers_every_issuer() -> None:
    denylist = Denylist()
    denylist.add_subject(ANY_ISSUER, "7", SubjectEntry(issued_before=150, expires_at=1000))

    assert denylist.revoked(mark(issuer="https://idp", subject="7"))
    assert denylist.revoked(mark(issuer=GATEWAY_ISSUER, subject="7"))


def test_a_later_time_for_the_same_subject_wins_and_an_earlier_one_does_not_undo_it() -> None:
    denylist = Denylist()
    denylist.add_subject("i", "ann", SubjectEntry(200, 1000))
    denylist.add_subject("i", "ann", SubjectEntry(100, 1000))

    assert denylist.revoked(mark(issuer="i", iat=150))


def test_expired_entries_are_pruned_and_removal_lifts_an_entry() -> None:
    denylist = Denylist()
    denylist.add_jti("old", 10)
    denylist.add_jti("new", 100)
    denylist.add_subject("i", "ann", SubjectEntry(5, 10))

    denylist.prune(now=50)

    assert set(denylist.jtis) == {"new"} and not denylist.subjects
    denylist.remove(jtis=["new"])
    assert len(denylist) == 0


@pytest.mark.parametrize(
    "entry",
    [
        store.Entry("jti", "abc-123", "", 0.0, 1999999999.5),
        store.Entry("subject", "ann smith", "https://idp.example/realm", 1700000000.25, 1700086400.0),
        store.Entry("subject", '7"weird:]', "", 1.0, 2.0),
    ],
)
def test_an_entry_survives_its_redis_key_and_value_and_its_published_form(entry: store.Entry) -> None:
    assert store.entry_from_key(entry.key, entry.stored()) == entry
    assert store.entry_from_list(entry.as_list()) == entry


def test_a_key_that_does_not_parse_is_skipped() -> None:
    assert store.entry_from_key(store.SUBJECT + "not json", "1 2") is None
    assert store.entry_from_key(store.JTI + "x", "soon") is None
