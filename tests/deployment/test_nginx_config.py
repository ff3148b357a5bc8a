"""The repository's NGINX configuration, checked by the real `nginx -t`."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from custom_classifier.config import Settings
from support.nginx import NGINX_SOURCE, render_nginx_config

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (make test installs it)"
)


def nginx_test(prefix: Path, **options: object) -> subprocess.CompletedProcess[str]:
    layout = render_nginx_config(
        prefix, listen_port=18080, api_ports=[18001, 18002], mlflow_port=18003, **options
    )
    return subprocess.run(
        layout.command(str(NGINX), test=True), capture_output=True, text=True, timeout=30
    )


def test_the_configuration_passes_nginx_t(tmp_path: Path) -> None:
    result = nginx_test(tmp_path / "nginx")
    assert result.returncode == 0, result.stderr


def test_the_tls_server_block_passes_nginx_t_with_certificates(tmp_path: Path) -> None:
    certificates = write_self_signed_certificate(tmp_path / "certs")
    result = nginx_test(tmp_path / "nginx", tls_port=18443, certificates=certificates)
    assert result.returncode == 0, result.stderr


def test_upload_limit_matches_the_api() -> None:
    config = (NGINX_SOURCE / "nginx.conf").read_text()
    megabytes = int(re.search(r"client_max_body_size (\d+)m;", config).group(1))  # type: ignore[union-attr]
    assert megabytes * 1024 * 1024 == Settings().max_upload_bytes


def test_events_are_not_buffered_and_mlflow_sign_up_is_closed() -> None:
    locations = (NGINX_SOURCE / "cc-locations.conf").read_text()
    events = locations.split("location ~ ^/api/.+/events$", 1)[1].split("}", 1)[0]
    assert "proxy_buffering off;" in events
    assert "return 403;" in locations.split("signup", 1)[1].split("}", 1)[0]
    for header in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert f"add_header {header}" in locations


def write_self_signed_certificate(folder: Path) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder
