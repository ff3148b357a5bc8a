"""This machine's pip configuration, for the RUN steps of an image build (podman build -v).

    python3 scripts/pip-config-for-builds.py OUT.conf   # prints one `-v` option a line

Writes the configuration pip uses here (its files and PIP_* variables, merged as pip merges
them) to OUT.conf, and prints the volumes that mount it as /etc/pip.conf and the local paths it
names (certificate bundle, constraints, wheel folders, file:// indexes) read-only under
/run/host-pip (not at their own paths: a certificate bundle mounted over the image's own breaks
`apt-get install ca-certificates`), the configuration pointing there. Where pip reaches its packages only through such settings (a mirror, a local wheel
folder, a corporate certificate), the builds then install exactly as pip does here; the
settings are mounted into the build steps only, never copied into an image.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit


def pip_settings() -> dict[tuple[str, str], str]:
    """(section, key) -> value; PIP_* variables (`:env:`) override the files, as in pip."""
    listing = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    files: dict[tuple[str, str], str] = {}
    env: dict[tuple[str, str], str] = {}
    for line in listing.splitlines():
        name, _, quoted = line.partition("=")
        section, _, key = name.rpartition(".")
        value = quoted.strip().strip("'\"")
        if section == ":env:":
            if key != "config-file":  # PIP_CONFIG_FILE says which files were read
                env[("global", key)] = value
        elif section and key:
            files[(section, key)] = value
    return files | env


MOUNTED = Path("/run/host-pip")


def local_path(token: str) -> Path | None:
    """The local file or folder a setting's value names (a file:// index: its folder's
    parent, where the index's relative links lead), if it exists."""
    if token.startswith("file://"):
        path = Path(unquote(urlsplit(token).path))
        path = path.parent if path.name == "simple" else path
    elif token.startswith("/"):
        path = Path(token)
    else:
        return None
    return path if path.exists() else None


def mounted(value: str, mounts: set[Path]) -> str:
    """`value` with each local path moved under MOUNTED; the paths are added to `mounts`."""
    tokens = []
    for token in value.split():
        if (path := local_path(token)) is not None:
            mounts.add(path)
            token = token.replace(str(path), f"{MOUNTED}{path}", 1)
        tokens.append(token)
    return " ".join(tokens)


def main(out: Path) -> None:
    config = configparser.ConfigParser(interpolation=None)
    mounts: set[Path] = set()
    for (section, key), value in pip_settings().items():
        if not config.has_section(section):
            config.add_section(section)
        config.set(section, key, mounted(value, mounts))
    with out.open("w") as file:
        config.write(file)
    print(f"--volume={out}:/etc/pip.conf:ro")
    for path in sorted(mounts):
        print(f"--volume={path}:{MOUNTED}{path}:ro")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
