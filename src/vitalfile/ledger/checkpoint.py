"""Signed checkpoints: the chain head signed with the keeper's Ed25519 key, held outside.

A checkpoint is a small JSON document (commit number, hash, time, key id, signature). A
ledger *extends* a checkpoint when its verified chain holds that commit with that hash.
A checkpoint sent with a file or a feed page also carries the delivery (recipient, delivery
id, SHA-256, record count) inside the signed payload; one without it (older) still verifies.

Keys change: `rotate_key` makes a new signing key and retires the old one in the **keyring**
(`<key>.keyring.json` beside the key: every public key the keeper ever signed with, its id,
when it was made and when it was retired). Every checkpoint names its key id, so an old
checkpoint verifies with its (retired) key; one signed by a retired key after its
retirement — or of a commit made after it — is refused. `export_keyring` is what recipients
hold to check what they were sent, whichever key signed it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vitalfile.errors import CheckpointMismatch, ConfigError, InputError
from vitalfile.ledger.store import CommitInfo

__all__ = [
    "Checkpoint",
    "KeyEntry",
    "Keyring",
    "export_keyring",
    "init_key",
    "key_id_of",
    "keyring_path",
    "load_keyring",
    "load_private_key",
    "load_public_key",
    "make_checkpoint",
    "read_checkpoint",
    "read_keyring",
    "rotate_key",
    "verify_signature",
]


@dataclass(frozen=True)
class Checkpoint:
    commit_no: int
    hash: str
    committed_at: str
    signed_at: str
    key_id: str
    signature: str  # base64 Ed25519 over `payload()`
    delivery: dict[str, Any] | None = None  # what was sent with it (signed), when anything

    def payload(self) -> bytes:
        signed: dict[str, Any] = {
            "commit_no": self.commit_no,
            "hash": self.hash,
            "committed_at": self.committed_at,
            "signed_at": self.signed_at,
            "key_id": self.key_id,
        }
        if self.delivery is not None:
            signed["delivery"] = self.delivery
        return json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()

    def to_json(self) -> str:
        doc = asdict(self)
        if self.delivery is None:
            doc.pop("delivery")
        return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def _key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def key_id_of(public: Ed25519PublicKey) -> str:
    """A public key's id (the first 16 hex digits of the SHA-256 of its raw bytes)."""
    return _key_id(public)


def init_key(path: Path, *, overwrite: bool = False) -> str:
    """Make a new Ed25519 key at `path` (PEM, private) and `path`.pub; return its key id."""
    if path.exists() and not overwrite:
        raise ConfigError("a key already exists there; pass --force to replace it", file=str(path))
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    pub = key.public_key()
    Path(str(path) + ".pub").write_bytes(
        pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return _key_id(pub)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise ConfigError("no signing key; run `vitalfile keys init`", file=str(path)) from exc
    except ValueError as exc:
        raise ConfigError("not a PEM private key", file=str(path)) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError("the signing key is not Ed25519", file=str(path))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    pub_path = path if str(path).endswith(".pub") else Path(str(path) + ".pub")
    try:
        key = serialization.load_pem_public_key(pub_path.read_bytes())
    except FileNotFoundError as exc:
        raise ConfigError("no public key", file=str(pub_path)) from exc
    except ValueError as exc:
        raise ConfigError("not a PEM public key", file=str(pub_path)) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("the public key is not Ed25519", file=str(pub_path))
    return key


def make_checkpoint(
    head: CommitInfo,
    key: Ed25519PrivateKey,
    signed_at: str,
    *,
    delivery: dict[str, Any] | None = None,
) -> Checkpoint:
    unsigned = Checkpoint(
        head.commit_no,
        head.hash,
        head.committed_at,
        signed_at,
        _key_id(key.public_key()),
        "",
        delivery,
    )
    sig = base64.b64encode(key.sign(unsigned.payload())).decode()
    return Checkpoint(**{**asdict(unsigned), "signature": sig})


def read_checkpoint(path: Path) -> Checkpoint:
    try:
        data = json.loads(path.read_text())
        return Checkpoint(
            commit_no=int(data["commit_no"]),
            hash=str(data["hash"]),
            committed_at=str(data["committed_at"]),
            signed_at=str(data["signed_at"]),
            key_id=str(data["key_id"]),
            signature=str(data["signature"]),
            delivery=dict(data["delivery"]) if data.get("delivery") is not None else None,
        )
    except FileNotFoundError as exc:
        raise InputError("no such checkpoint file", file=str(path)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError("not a vitalfile checkpoint", file=str(path)) from exc


def verify_signature(cp: Checkpoint, public: Ed25519PublicKey) -> None:
    """Raise CheckpointMismatch unless `cp` is signed by `public`."""
    if cp.key_id != _key_id(public):
        raise CheckpointMismatch("checkpoint signed by another key", commit=cp.commit_no)
    try:
        public.verify(base64.b64decode(cp.signature), cp.payload())
    except (InvalidSignature, ValueError) as exc:
        raise CheckpointMismatch("checkpoint signature is not valid", commit=cp.commit_no) from exc


# ── the keyring: every public key the keeper signed with, and when each was retired ─────
def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


@dataclass(frozen=True)
class KeyEntry:
    key_id: str
    public_key: str  # PEM (SubjectPublicKeyInfo)
    created: str = ""  # ISO UTC time, "" when not known (a key made before keyrings)
    retired: str = ""  # ISO UTC time it stopped signing, "" while it signs

    def public(self) -> Ed25519PublicKey:
        key = serialization.load_pem_public_key(self.public_key.encode())
        if not isinstance(key, Ed25519PublicKey) or _key_id(key) != self.key_id:
            raise ConfigError("a keyring entry is not the Ed25519 key it names", field=self.key_id)
        return key


@dataclass
class Keyring:
    keys: list[KeyEntry] = field(default_factory=list)

    def get(self, key_id: str) -> KeyEntry | None:
        return next((k for k in self.keys if k.key_id == key_id), None)

    def verify(self, cp: Checkpoint) -> KeyEntry:
        """Raise CheckpointMismatch unless `cp` is signed by a key of this ring that was not
        retired when it signed, nor when the checkpointed commit was made."""
        entry = self.get(cp.key_id)
        if entry is None:
            raise CheckpointMismatch(
                "checkpoint signed by a key not in the keyring", commit=cp.commit_no
            )
        verify_signature(cp, entry.public())
        if entry.retired and (cp.signed_at > entry.retired or cp.committed_at > entry.retired):
            raise CheckpointMismatch(
                f"checkpoint signed by key {entry.key_id} after it was retired ({entry.retired})",
                commit=cp.commit_no,
            )
        return entry

    def to_json(self) -> str:
        doc = {
            "keyring": "vitalfile checkpoint keys",
            "algorithm": "Ed25519",
            "keys": [asdict(k) for k in self.keys],
        }
        return json.dumps(doc, indent=2) + "\n"


def keyring_path(key_path: Path) -> Path:
    """Where the keyring of the key at `key_path` is kept: beside it."""
    return Path(str(key_path) + ".keyring.json")


def read_keyring(path: Path) -> Keyring:
    """A keyring file (as `export_keyring` writes it)."""
    try:
        doc = json.loads(path.read_text())
        keys = [
            KeyEntry(
                key_id=str(k["key_id"]),
                public_key=str(k["public_key"]),
                created=str(k.get("created") or ""),
                retired=str(k.get("retired") or ""),
            )
            for k in doc["keys"]
        ]
    except FileNotFoundError as exc:
        raise InputError("no such keyring file", file=str(path)) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError("not a vitalfile keyring", file=str(path)) from exc
    return Keyring(keys)


def load_keyring(path: Path) -> Keyring:
    """The keys that may have signed: a keyring file itself (`*.json`), or for the keeper's
    key at `path` its keyring beside it, with the current public key (`path`.pub) in it."""
    if str(path).endswith(".json"):
        return read_keyring(path)
    ring_file = keyring_path(Path(str(path).removesuffix(".pub")))
    ring = read_keyring(ring_file) if ring_file.exists() else Keyring()
    pub_path = path if str(path).endswith(".pub") else Path(str(path) + ".pub")
    if pub_path.exists() or not ring.keys:
        public = load_public_key(path)
        if ring.get(_key_id(public)) is None:
            ring.keys.append(KeyEntry(_key_id(public), _pem(public)))
    return ring


def _write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def rotate_key(path: Path, *, at: str | None = None) -> tuple[str, str]:
    """Retire the signing key at `path` and make a new one there: (old id, new id).

    The keyring beside it keeps the old public key, marked retired at `at` (now), and gains
    the new one; the old private key is overwritten (nothing can sign with it again here).
    The keyring is written before the key changes, so a crash between leaves a ring that
    still verifies everything signed so far."""
    when = at or _now()
    old = load_private_key(path).public_key()
    ring = load_keyring(path)
    old_id = _key_id(old)
    entry = ring.get(old_id) or KeyEntry(old_id, _pem(old))
    new = Ed25519PrivateKey.generate()
    new_id = _key_id(new.public_key())
    keys = [k for k in ring.keys if k.key_id != old_id]
    keys.append(KeyEntry(old_id, entry.public_key, entry.created, entry.retired or when))
    keys.append(KeyEntry(new_id, _pem(new.public_key()), when))
    _write_atomic(keyring_path(path), Keyring(keys).to_json().encode())
    _write_atomic(
        path,
        new.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        0o600,
    )
    _write_atomic(Path(str(path) + ".pub"), _pem(new.public_key()).encode())
    return old_id, new_id


def export_keyring(path: Path) -> Keyring:
    """The keyring to give recipients: every public key of the keeper's key at `path`."""
    return load_keyring(path)
