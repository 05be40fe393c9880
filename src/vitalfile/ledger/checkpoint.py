"""Signed checkpoints: the chain head signed with the keeper's Ed25519 key, held outside.

A checkpoint is a small JSON document (commit number, hash, time, key id, signature). A
ledger *extends* a checkpoint when its verified chain holds that commit with that hash.
A checkpoint sent with a file or a feed page also carries the delivery (recipient, delivery
id, SHA-256, record count) inside the signed payload; one without it (older) still verifies.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from vitalfile.errors import CheckpointMismatch, ConfigError, InputError
from vitalfile.ledger.store import CommitInfo

__all__ = [
    "Checkpoint",
    "init_key",
    "load_private_key",
    "load_public_key",
    "make_checkpoint",
    "read_checkpoint",
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
