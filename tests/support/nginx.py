"""Render the repository's NGINX configuration (docker/nginx) for a run outside Docker.

Only addresses and paths change: the upstreams point at loopback ports, the includes at a
folder of our own, and the temporary files go there too, so nginx runs without root. Used by
the configuration tests, the topology test and the benchmark.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
"""The checkout this file lives in (tests/support/nginx.py): test support is never installed."""
NGINX_SOURCE = REPOSITORY / "docker" / "nginx"
SYSTEM_MIME_TYPES = Path("/etc/nginx/mime.types")
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


@dataclass(frozen=True)
class NginxLayout:
    """Where a rendered configuration lives: `nginx -p prefix -c config`."""

    prefix: Path
    config: Path

    def command(self, nginx: str = "nginx", *, test: bool = False) -> list[str]:
        directives = f"daemon off; pid {self.prefix / 'nginx.pid'};"
        if os.geteuid() == 0:  # workers would run as `nobody`, locked out of a private prefix
            directives += " user root;"
        command = [nginx, "-p", str(self.prefix), "-c", str(self.config), "-g", directives]
        command += ["-e", str(self.prefix / "error.log")]
        return [*command, "-t", "-q"] if test else command


def render_nginx_config(
    prefix: Path,
    *,
    listen_port: int,
    api_ports: list[int],
    mlflow_port: int,
    tls_port: int | None = None,
    certificates: Path | None = None,
    access_log: bool = True,
) -> NginxLayout:
    """Write the configuration under `prefix`; with `tls_port`, also the HTTPS server block."""
    prefix.mkdir(parents=True, exist_ok=True)
    for name in TEMP_PATHS:
        (prefix / "temp" / name).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SYSTEM_MIME_TYPES, prefix / "mime.types")
    main = _localize((NGINX_SOURCE / "nginx.conf").read_text(), prefix)
    api_servers = "\n        ".join(f"server 127.0.0.1:{port};" for port in api_ports)
    main = re.sub(r"server api:8000[^;]*;", api_servers, main)
    main = main.replace("server mlflow:5000;", f"server 127.0.0.1:{mlflow_port};")
    main = main.replace(
        "listen 80 default_server;", f"listen 127.0.0.1:{listen_port} default_server;"
    )
    temp = "".join(f"    {name}_temp_path {prefix / 'temp' / name};\n" for name in TEMP_PATHS)
    main = main.replace("http {\n", "http {\n" + temp, 1)
    if not access_log:
        main = main.replace("access_log /dev/stdout;", "access_log off;")
    (prefix / "nginx.conf").write_text(main)
    locations = (NGINX_SOURCE / "cc-locations.conf").read_text()
    (prefix / "cc-locations.conf").write_text(_localize(locations, prefix))
    (prefix / "tls.d").mkdir(exist_ok=True)
    if tls_port is not None:
        tls = _localize((NGINX_SOURCE / "tls.conf.example").read_text(), prefix)
        tls = tls.replace("listen 443 ssl", f"listen 127.0.0.1:{tls_port} ssl")
        if certificates is not None:
            tls = tls.replace(str(prefix / "certs"), str(certificates))
        (prefix / "tls.d" / "tls.conf").write_text(tls)
    return NginxLayout(prefix=prefix, config=prefix / "nginx.conf")


def _localize(text: str, prefix: Path) -> str:
    return text.replace("/etc/nginx/", f"{prefix}/")
