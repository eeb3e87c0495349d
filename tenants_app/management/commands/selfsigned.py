"""Generate a self-signed TLS pair in resources/ for trying PROTOCOL=https (use a real certificate in production)."""

from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Write resources/fullchain.pem and resources/privkey.pem: a self-signed certificate for testing TLS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", action="append", default=[], help="a DNS name or IP (repeatable)")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--force", action="store_true", help="replace an existing pair")
        parser.add_argument("--directory", default=str(Path(settings.BASE_DIR) / "resources"))

    def handle(self, *args: Any, host: list[str], days: int, force: bool, directory: str, **options: Any) -> None:
        folder = Path(directory)
        certificate_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
        if certificate_path.exists() and not force:
            raise CommandError(f"{certificate_path} exists; pass --force to replace it")
        names = host or ["localhost", "127.0.0.1"]
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([_name(value) for value in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        folder.mkdir(parents=True, exist_ok=True)
        certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        key_path.chmod(0o600)
        self.stdout.write(f"wrote {certificate_path} and {key_path} for {', '.join(names)} ({days} days)")


def _name(value: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(value))
    except ValueError:
        return x509.DNSName(value)
