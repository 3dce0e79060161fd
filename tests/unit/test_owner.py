"""Who may claim to be a student: with an owner header configured, only connections that come
through the login proxy (its secret, or this machine when no secret is set) are trusted."""

from __future__ import annotations

import pytest

from playground.ui.state import (
    OWNER_COOKIE,
    OWNER_HEADER_ENV,
    PROXY_SECRET_ENV,
    PROXY_SECRET_HEADER,
    owner_from,
    proxy_problem,
)

BEHIND_PROXY = {OWNER_HEADER_ENV: "X-Forwarded-User"}
WITH_SECRET = {**BEHIND_PROXY, PROXY_SECRET_ENV: "s3cret-value"}


def test_without_an_owner_header_every_connection_is_its_own_session() -> None:
    assert proxy_problem({"X-Forwarded-User": "alice"}, "203.0.113.9", {}) is None


@pytest.mark.parametrize("peer", [None, "127.0.0.1", "127.0.0.2", "::1"])
def test_with_no_secret_only_this_machine_may_send_the_owner_header(peer: str | None) -> None:
    assert proxy_problem({"X-Forwarded-User": "alice"}, peer, BEHIND_PROXY) is None


@pytest.mark.parametrize("peer", ["203.0.113.9", "192.0.2.2", "fd00::2", "not an address"])
def test_with_no_secret_a_connection_from_elsewhere_is_refused(peer: str) -> None:
    problem = proxy_problem({"X-Forwarded-User": "alice"}, peer, BEHIND_PROXY)
    assert problem is not None and "login proxy" in problem


def test_with_a_secret_only_requests_carrying_it_are_trusted() -> None:
    alice = {"X-Forwarded-User": "alice"}
    assert (
        proxy_problem({**alice, PROXY_SECRET_HEADER: "s3cret-value"}, "10.0.0.7", WITH_SECRET)
        is None
    )
    for given in ({}, {PROXY_SECRET_HEADER: "s3cret-valuE"}, {PROXY_SECRET_HEADER: ""}):
        # from this machine too: once a secret is set, a local connection must carry it as well
        problem = proxy_problem({**alice, **given}, None, WITH_SECRET)
        assert problem is not None and "login proxy" in problem
    assert "s3cret" not in problem, "the refusal never shows the secret"


# ---------------------------------------------------------------------------------------------
# Without a login proxy: the browser's cookie keeps a student's jobs and limits across reloads

TOKEN = "0123456789abcdef0123456789abcdef"


def test_a_browser_with_the_owner_cookie_is_the_same_owner_in_every_session() -> None:
    cookies = {OWNER_COOKIE: TOKEN}
    first = owner_from({}, cookies, "a" * 32, {}, trusted=True)
    after_reload = owner_from({}, cookies, "b" * 32, {}, trusted=True)
    assert first == after_reload == f"browser:{TOKEN}"


def test_a_first_visit_owns_by_its_session_token_which_becomes_the_cookie() -> None:
    session = "c" * 32
    assert owner_from({}, {}, session, {}, trusted=True) == f"browser:{session}"
    # the token remember_owner stores makes the next session the same owner
    assert owner_from({}, {OWNER_COOKIE: session}, "d" * 32, {}, trusted=True) == (
        f"browser:{session}"
    )


@pytest.mark.parametrize(
    "cookie", ["", "short", TOKEN.upper(), TOKEN + "0", "../" + TOKEN[3:], TOKEN[:-1] + "g"]
)
def test_a_hand_made_owner_cookie_is_ignored(cookie: str) -> None:
    assert (
        owner_from({}, {OWNER_COOKIE: cookie}, "e" * 32, {}, trusted=True) == "browser:" + "e" * 32
    )


def test_behind_the_proxy_the_user_header_wins_over_the_cookie_and_needs_trust() -> None:
    headers = {"X-Forwarded-User": " alice "}
    cookies = {OWNER_COOKIE: TOKEN}
    assert owner_from(headers, cookies, "f" * 32, BEHIND_PROXY, trusted=True) == "user:alice"
    assert owner_from(headers, cookies, "f" * 32, BEHIND_PROXY, trusted=False) == (
        f"browser:{TOKEN}"
    )
