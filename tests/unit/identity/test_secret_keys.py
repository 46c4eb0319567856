"""Several secret keys at once: the current one makes, the previous ones still open and
verify what they made, and nothing else does."""

from __future__ import annotations

import pytest

from hub.identity.domain.secrets import (
    IdentitySecrets,
    KeyedHash,
    Sealer,
    UnsealableError,
    key_id,
    secret_keys,
)

A, B, C = "a" * 40, "b" * 40, "c" * 40


def test_a_previous_key_opens_what_it_sealed_and_the_current_key_seals() -> None:
    old = Sealer(A.encode(), "totp-secrets").seal(b"s3cret", context=b"user-1")
    rotated = Sealer(B.encode(), "totp-secrets", previous=[C.encode(), A.encode()])
    assert rotated.unseal(old, context=b"user-1") == (b"s3cret", 2)
    fresh = rotated.seal(b"s3cret", context=b"user-1")
    assert rotated.unseal(fresh, context=b"user-1") == (b"s3cret", 0)
    # The context still binds the value, whichever key made it.
    with pytest.raises(UnsealableError):
        rotated.open(old, context=b"user-2")
    # Without the previous key nothing opens it: an error of its own, not InvalidTag.
    with pytest.raises(UnsealableError):
        Sealer(B.encode(), "totp-secrets").open(old, context=b"user-1")
    with pytest.raises(UnsealableError):
        rotated.open(b"\x02" + old[1:], context=b"user-1")


def test_keyed_hashes_verify_under_any_configured_key_and_name_it() -> None:
    old = KeyedHash(secret_keys(A), "api-keys")
    stored = old.digest("value")
    now = KeyedHash(secret_keys(B, [A]), "api-keys")
    assert now.key_id == key_id(B.encode()) != key_id(A.encode())
    assert now.matching_key("value", stored) == key_id(A.encode())
    assert now.matching_key("value", now.digest("value")) == now.key_id
    assert now.matching_key("other", stored) is None
    assert now.digests("value") == [now.digest("value"), stored]
    assert KeyedHash(secret_keys(B), "api-keys").matching_key("value", stored) is None
    # Another purpose derives another key from the same secret.
    assert KeyedHash(secret_keys(A), "recovery-codes").digest("value") != stored


def test_identity_secrets_list_the_current_key_first_without_repeats() -> None:
    secrets = IdentitySecrets(B, [A, B, A])
    assert [k.id for k in secrets.keys] == [key_id(B.encode()), key_id(A.encode())]
    assert secrets.previous_ids == (key_id(A.encode()),)
    assert len(secrets.key_id) == 8
    # Keys made before rotation keep working: derivation per purpose did not change.
    legacy = Sealer(A.encode(), "signing-keys").seal(b"pem", context=b"kid")
    assert secrets.signing_keys.open(legacy, context=b"kid") == b"pem"
