"""The JSON report: the results model as JSON, with its digest and an optional signature.

The file carries one extra top-level block, ``integrity``, that is not part
of what it protects::

    "integrity": {
      "canonicalization": "json-sorted-compact-utf8",
      "digest": "sha256:<hex of the canonical JSON of the document without 'integrity'>",
      "signature": {"algorithm": "ed25519", "key_id": "sha256:<hex of the raw public key>",
                    "public_key": "<base64 raw key, informational only>", "value": "<base64>"}
    }

The signature is embedded (not a ``.sig`` file beside the report) so that the
one file attached to a change ticket is everything a verifier needs besides
the public key, which the verifier must get from somewhere they trust: the
embedded ``public_key`` only says which key signed, it proves nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_golive.core.atomic import write_atomic

CANONICALIZATION = "json-sorted-compact-utf8"
INTEGRITY = "integrity"


class ReportError(ValueError):
    """A report file or key that cannot be used; the message is one line."""


def canonical(data: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8"
    )


def body(document: dict[str, Any]) -> dict[str, Any]:
    """The signed part of a report document: everything but the integrity block."""
    return {k: v for k, v in document.items() if k != INTEGRITY}


def digest(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of the document's body."""
    return "sha256:" + hashlib.sha256(canonical(body(document))).hexdigest()


def integrity_block(data: dict[str, Any], sign_key: str | Path | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"canonicalization": CANONICALIZATION, "digest": digest(data)}
    if sign_key:
        block["signature"] = sign(canonical(body(data)), load_private_key(Path(sign_key)))
    return block


def write_json(path: Path, data: dict[str, Any], sign_key: str | Path | None = None,
               integrity: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the report with its integrity block; return the document written."""
    document = {**body(data), INTEGRITY: integrity or integrity_block(data, sign_key)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, dumps_document(document))
    return document


def dumps_document(document: dict[str, Any]) -> str:
    """The report's text: indented, sorted keys, and one line per result.

    ``json.dumps(indent=2)`` runs Python's pure-Python encoder, about 60 us per
    result (0.6 s for 10,000); each result is written by the C encoder on a line
    of its own instead, which is as easy to grep and to diff. The data is the same.
    """
    def block(value: Any) -> str:
        return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).replace(
            "\n", "\n  ")

    parts = []
    for key in sorted(document):
        value = document[key]
        if key == "results" and isinstance(value, list) and value:
            rows = ",\n".join("    " + json.dumps(r, sort_keys=True, ensure_ascii=False)
                              for r in value)
            text = "[\n" + rows + "\n  ]"
        else:
            text = block(value)
        parts.append(f"  {json.dumps(key, ensure_ascii=False)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n" if parts else "{}\n"


def read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ReportError(f"{path}: not a JSON report: {exc}") from None
    if not isinstance(document, dict) or "results" not in document or "environment" not in document:
        raise ReportError(f"{path}: not a golive JSON report (no 'environment' and 'results')")
    return document


# --- keys and signatures --------------------------------------------------------------


def load_private_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if "PRIVATE KEY" in str(path):
        # The key's content where its file belongs (a CI secret passed as is): never echo it.
        raise ReportError(
            "--golive-sign-key: the private key itself was given, not the path of its file: "
            "write it to a file readable only by you (mode 0600) and pass that path"
        )
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except OSError as exc:
        raise ReportError(
            f"--golive-sign-key: {path}: cannot read: {exc.strerror or exc}"
        ) from None
    except (ValueError, TypeError) as exc:
        raise ReportError(
            f"--golive-sign-key: {path}: not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ReportError(
            f"--golive-sign-key: {path}: not an Ed25519 key (make one with 'golive keygen')"
        )
    return key


def load_public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except OSError as exc:
        raise ReportError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, TypeError):
        raise ReportError(f"{path}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ReportError(f"{path}: not an Ed25519 public key")
    return key


def _raw_public(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    raw: bytes = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def key_id(public_key: Any) -> str:
    return "sha256:" + hashlib.sha256(_raw_public(public_key)).hexdigest()[:32]


def sign(message: bytes, private_key: Any) -> dict[str, str]:
    public = private_key.public_key()
    return {
        "algorithm": "ed25519",
        "key_id": key_id(public),
        "public_key": base64.b64encode(_raw_public(public)).decode("ascii"),
        "value": base64.b64encode(private_key.sign(message)).decode("ascii"),
    }


@dataclass
class Verification:
    intact: bool
    reason: str


def verify(document: dict[str, Any], public_key: Any) -> Verification:
    """Whether the document is exactly what the holder of the key signed."""
    from cryptography.exceptions import InvalidSignature

    block = document.get(INTEGRITY)
    if not isinstance(block, dict) or not isinstance(block.get("signature"), dict):
        return Verification(False, "the report is not signed (no integrity.signature block)")
    signature = block["signature"]
    if signature.get("algorithm") != "ed25519":
        return Verification(
            False, f"unsupported signature algorithm {signature.get('algorithm')!r}"
        )
    if signature.get("key_id") != key_id(public_key):
        return Verification(
            False,
            f"signed with another key ({signature.get('key_id')}, "
            f"this key is {key_id(public_key)})",
        )
    try:
        public_key.verify(
            base64.b64decode(signature.get("value", ""), validate=True), canonical(body(document))
        )
    except (InvalidSignature, ValueError):
        return Verification(
            False, "the signature does not match the content: the report was changed"
        )
    if block.get("digest") != digest(document):
        return Verification(False, "the digest does not match the content")
    return Verification(True, f"signed by key {key_id(public_key)}, content unchanged")


def generate_key_pair(private_path: Path, public_path: Path) -> str:
    """Write a new Ed25519 key pair (private key file mode 0600); return its key id."""
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    for path in (private_path, public_path):
        if path.exists():
            raise ReportError(f"{path}: exists; not overwriting a key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key_id(key.public_key())
