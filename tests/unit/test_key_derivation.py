import hashlib
import hmac

from core.crypto import ACCESS_TOKENS, LOGIN_THROTTLE, SHARE_VISITOR, derive_key, hkdf_expand


def test_hkdf_expand_matches_rfc_5869_test_case_1():
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"
    assert hkdf_expand(prk, info, 42).hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_every_purpose_has_its_own_key():
    secret = "a secret of at least thirty-two bytes....."
    keys = {derive_key(secret, purpose) for purpose in (ACCESS_TOKENS, LOGIN_THROTTLE, SHARE_VISITOR)}
    assert len(keys) == 3
    assert all(len(key) == 32 and secret.encode() not in key for key in keys)
    assert derive_key("another secret of at least thirty-two bytes", ACCESS_TOKENS) not in keys
