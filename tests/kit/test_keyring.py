"""Personal data encrypted with a key id still decrypts after rotation; look-ups are keyed."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from medpay_kit.keyring import Keyring


def test_rotation_keeps_old_data_readable_and_encrypts_new_data_with_the_new_key(tmp_path):
    path = tmp_path / "keys.json"
    ring = Keyring.load_or_create(path)
    old = ring.encrypt(b"11010519491231002X", b"person:1")
    assert (path.stat().st_mode & 0o777) == 0o600
    new_id = Keyring.rotate(path)
    ring = Keyring.load_or_create(path)
    assert ring.decrypt(old, b"person:1") == b"11010519491231002X"
    fresh = ring.encrypt(b"x")
    assert ring.key_id_of(old) == "k1" and ring.key_id_of(fresh) == new_id == "k2"


def test_ciphertext_is_bound_to_its_context(tmp_path):
    ring = Keyring.load_or_create(tmp_path / "keys.json")
    blob = ring.encrypt(b"secret", b"person:1")
    with pytest.raises(InvalidTag):
        ring.decrypt(blob, b"person:2")


def test_lookup_hash_is_stable_and_keyed(tmp_path):
    a = Keyring.load_or_create(tmp_path / "a.json")
    b = Keyring.load_or_create(tmp_path / "b.json")
    assert a.lookup_hash("v") == a.lookup_hash("v") != b.lookup_hash("v")
