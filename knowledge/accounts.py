"""Staff console accounts: who may sign in, with which role, and the lock after too many wrong passwords.

Accounts live in the knowledge base (table `staff_accounts`) and are managed only with `kb staff`. Passwords
are kept as argon2id hashes (argon2-cffi). Five wrong passwords in a row lock an account for 15 minutes.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from . import store

ROLES = ("editor", "viewer")
MAX_FAILURES = 5
LOCK_MINUTES = 15
MIN_PASSWORD = 10
MAX_PASSWORD = 200
_NAME = re.compile(r"[\w.\-]{2,40}")

_hasher = PasswordHasher()
# Checked against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anybody")


class AccountError(ValueError):
    """A `kb staff` request that cannot be done (unknown name, bad role, weak password); nothing was written."""


class LoginRefused(Exception):
    """Why a sign-in failed: `wrong` (name or password), `locked` (until `until`) or `disabled`."""

    def __init__(self, reason: str, until: datetime | None = None):
        super().__init__(reason)
        self.reason, self.until = reason, until


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password may have at most {MAX_PASSWORD} characters")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    return role


def get_account(db: sqlite_utils.Database, name: str) -> dict | None:
    """The account row without its password hash, or None."""
    row = db.execute(
        "SELECT name, role, disabled, failures, locked_until, created_at, password_changed_at, last_login_at "
        "FROM staff_accounts WHERE name = ?",
        [name],
    ).fetchone()
    if row is None:
        return None
    keys = [
        "name",
        "role",
        "disabled",
        "failures",
        "locked_until",
        "created_at",
        "password_changed_at",
        "last_login_at",
    ]
    return dict(zip(keys, row))


def _require(db, name: str) -> dict:
    account = get_account(db, name)
    if account is None:
        raise AccountError(f"no staff account {name!r}")
    return account


def add_account(db: sqlite_utils.Database, name: str, role: str, password: str) -> None:
    """Create an account that may sign in to the staff console."""
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise AccountError("a name has 2-40 letters, digits, '.', '-' or '_' (e.g. liming or 李明)")
    _check_role(role)
    password_hash = _hasher.hash(_check_password(password))
    with store.write_transaction(db):
        if get_account(db, name) is not None:
            raise AccountError(f"there is already an account {name!r}; use `kb staff password {name}`")
        at = store.now()
        db.table("staff_accounts").insert(
            {
                "name": name,
                "role": role,
                "password_hash": password_hash,
                "disabled": 0,
                "failures": 0,
                "locked_until": None,
                "created_at": at,
                "password_changed_at": at,
                "last_login_at": None,
            }
        )


def set_password(db: sqlite_utils.Database, name: str, password: str) -> None:
    """Give an account a new password; this also lifts a lock after wrong passwords."""
    password_hash = _hasher.hash(_check_password(password))
    with store.write_transaction(db):
        _require(db, name)
        db.table("staff_accounts").update(
            name,
            {"password_hash": password_hash, "failures": 0, "locked_until": None, "password_changed_at": store.now()},
        )


def set_role(db: sqlite_utils.Database, name: str, role: str) -> None:
    _check_role(role)
    with store.write_transaction(db):
        _require(db, name)
        db.table("staff_accounts").update(name, {"role": role})


def set_disabled(db: sqlite_utils.Database, name: str, disabled: bool = True) -> None:
    """Stop (or allow again) an account from signing in; its open sessions end at their next page."""
    with store.write_transaction(db):
        _require(db, name)
        db.table("staff_accounts").update(name, {"disabled": 1 if disabled else 0, "failures": 0, "locked_until": None})


def list_accounts(db: sqlite_utils.Database) -> list[dict]:
    names = [r[0] for r in db.execute("SELECT name FROM staff_accounts ORDER BY name")]
    return [a for a in (get_account(db, n) for n in names) if a is not None]


def active_account(db: sqlite_utils.Database, name: str) -> dict | None:
    """The account behind a session, or None when it no longer exists or was disabled."""
    account = get_account(db, name)
    if account is None or account["disabled"]:
        return None
    return account


def check_login(db: sqlite_utils.Database, name: str, password: str, now: datetime | None = None) -> dict:
    """Return the account when name and password are right; raise LoginRefused otherwise.

    A locked account is refused without looking at the password. Wrong passwords are counted in a row; the
    fifth locks the account for LOCK_MINUTES. A right password resets the count.
    """
    now = now or _now()
    name = (name or "").strip()
    row = db.execute(
        "SELECT password_hash, disabled, locked_until FROM staff_accounts WHERE name = ?", [name]
    ).fetchone()
    if row is None:
        _verify(_DUMMY_HASH, password or "")
        raise LoginRefused("wrong")
    password_hash, disabled, locked_until = row
    if locked_until and datetime.fromisoformat(locked_until) > now:
        raise LoginRefused("locked", datetime.fromisoformat(locked_until))
    right = _verify(password_hash, password or "")
    refused = None
    with store.write_transaction(db):  # refusals are raised after the commit, so the count is kept
        if not right:
            failures = db.execute("SELECT failures FROM staff_accounts WHERE name = ?", [name]).fetchone()[0] + 1
            if failures >= MAX_FAILURES:
                until = now + timedelta(minutes=LOCK_MINUTES)
                db.table("staff_accounts").update(
                    name, {"failures": 0, "locked_until": until.isoformat(timespec="seconds")}
                )
                refused = LoginRefused("locked", until)
            else:
                db.table("staff_accounts").update(name, {"failures": failures})
                refused = LoginRefused("wrong")
        elif disabled:
            refused = LoginRefused("disabled")
        else:
            update = {"failures": 0, "locked_until": None, "last_login_at": now.isoformat(timespec="seconds")}
            if _hasher.check_needs_rehash(password_hash):
                update["password_hash"] = _hasher.hash(password)
            db.table("staff_accounts").update(name, update)
    if refused:
        raise refused
    account = get_account(db, name)
    assert account is not None  # its row was read above, and accounts are never deleted
    return account


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
