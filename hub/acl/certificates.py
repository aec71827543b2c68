"""The PKI of the tree: one CA, a certificate per account (CN = account name), one for the broker.

Everything is done with the `openssl` command (Debian's `openssl` package), as the office would do
it by hand following docs/acl.md — the CA is an `openssl ca` database (`ca/index.txt`, `ca/serial`)
so that a certificate can be revoked and a CRL published with the same tool. Layout of the
directory (`venue-hub acl --out DIR`), all paths relative to it, openssl always run from it:

    ca/openssl.cnf  ca/ca.key (0600, may be kept offline)  ca/ca.pem  ca/index.txt  ca/serial  ca/issued/
    clients/<account>/<account>.key (0600)  <account>.pem  ca.pem      — one per account, for its machine
    broker/broker.key (0600)  broker.pem  ca.pem  crl.pem              — for the broker host

A run only adds what is missing and never rewrites a key: a key is created with O_EXCL and mode
0600, so an existing one is never opened for writing. An account whose certificate exists is left
alone even when its key is gone (moved to the venue PC, as it should be); one with a key (or a
certificate request, `<account>.csr`, made on the venue PC) but no certificate gets one for that key.
Keys are EC P-256: small, fast, and understood by mosquitto, paho and every TLS stack here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Literal

CA_DAYS = 3650
CERT_DAYS = 1095
CRL_DAYS = 365
OPENSSL_TIMEOUT_S = 60

OPENSSL_CNF = f"""\
# The venue tree's CA (docs/acl.md). Run openssl from the directory that holds ca/, clients/, broker/.
[ ca ]
default_ca = venue_ca

[ venue_ca ]
dir = ca
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.pem
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = {CERT_DAYS}
default_crl_days = {CRL_DAYS}
policy = policy_cn
unique_subject = no
copy_extensions = none
email_in_dn = no

[ policy_cn ]
commonName = supplied

[ req ]
distinguished_name = req_dn
[ req_dn ]

[ ca_ext ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ client_cert ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""


class PkiError(Exception):
    """openssl failed or the directory is in a state no run should guess about (text: English / 中文)."""


@dataclass(frozen=True)
class Issued:
    """What a run did for one certificate."""

    name: str
    certificate: Path
    action: Literal["kept", "issued", "issued-for-existing-key", "issued-from-request"]


def _write_secret(path: Path, data: bytes) -> None:
    """Create `path` 0600 with `data`; an existing file is never opened (FileExistsError)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


class Pki:
    """The CA directory and the certificates it issued; every method is safe to run again."""

    def __init__(self, root: Path, openssl: str = "openssl"):
        self.root = root
        self.openssl = openssl
        self.ca_dir = root / "ca"
        self.ca_key = self.ca_dir / "ca.key"
        self.ca_cert = self.ca_dir / "ca.pem"
        self.config = self.ca_dir / "openssl.cnf"
        self.broker_dir = root / "broker"
        self.clients_dir = root / "clients"

    # -- openssl ------------------------------------------------------------------------------
    def _run(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        try:
            done = subprocess.run(
                [self.openssl, *args],
                cwd=self.root,
                input=input_bytes,
                capture_output=True,
                timeout=OPENSSL_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError:
            raise PkiError(f"{self.openssl} not found: install Debian's openssl / 未找到 openssl，请安装") from None
        except subprocess.TimeoutExpired:
            raise PkiError(f"openssl {args[0]} did not finish in {OPENSSL_TIMEOUT_S} s / openssl 超时") from None
        if done.returncode != 0:
            detail = done.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise PkiError(f"openssl {' '.join(args[:2])} failed / 执行失败: {' | '.join(detail)}")
        return done.stdout

    def _new_key(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_secret(path, self._run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"))

    def _rel(self, path: Path) -> str:
        return str(path.relative_to(self.root))

    # -- the CA -------------------------------------------------------------------------------
    @property
    def signing_possible(self) -> bool:
        return self.ca_key.exists()

    def ensure_ca(self, name: str) -> bool:
        """The CA, created when there is none; True when it was created now."""
        if self.ca_cert.exists():
            if not self.config.exists():
                raise PkiError(f"{self.config} is missing beside {self.ca_cert} / CA 配置文件缺失")
            return False
        if self.ca_key.exists():
            raise PkiError(
                f"{self.ca_key} exists without {self.ca_cert}: restore the certificate from the backup, a new "
                f"CA would orphan every certificate / CA 私钥在而证书缺失，请从备份恢复"
            )
        (self.ca_dir / "issued").mkdir(parents=True, exist_ok=True)
        self.config.write_text(OPENSSL_CNF, encoding="utf-8")
        (self.ca_dir / "index.txt").touch()
        (self.ca_dir / "index.txt.attr").write_text("unique_subject = no\n", encoding="utf-8")
        (self.ca_dir / "serial").write_text(f"{secrets.randbelow(1 << 63) | (1 << 62):016X}\n", encoding="utf-8")
        (self.ca_dir / "crlnumber").write_text("1000\n", encoding="utf-8")
        self._new_key(self.ca_key)
        try:
            self._run(
                "req", "-config", self._rel(self.config), "-new", "-x509", "-key", self._rel(self.ca_key),
                "-subj", f"/O=venue-agent/CN={name}", "-days", str(CA_DAYS), "-extensions", "ca_ext",
                "-out", self._rel(self.ca_cert),
            )  # fmt: skip
        except PkiError:
            self.ca_key.unlink()  # made a moment ago, signed nothing: the next run starts clean
            raise
        return True

    def _sign(self, request: Path, certificate: Path, extensions: str, extfile: Path | None = None) -> None:
        if not self.signing_possible:
            raise PkiError(
                f"{certificate.name} must be issued but the CA key {self.ca_key} is not here (kept offline?): put it "
                f"back and run again / 需签发证书但 CA 私钥不在此处"
            )
        extra = ["-extfile", self._rel(extfile)] if extfile else []
        self._run(
            "ca", "-config", self._rel(self.config), "-batch", "-notext", "-extensions", extensions, *extra,
            "-in", self._rel(request), "-out", self._rel(certificate),
        )  # fmt: skip

    def _subject_cn(self, request: Path) -> str:
        subject = self._run("req", "-in", self._rel(request), "-noout", "-subject", "-nameopt", "RFC2253")
        text = subject.decode().strip().removeprefix("subject=")
        return text.removeprefix("CN=") if text.startswith("CN=") and "," not in text else text

    def _ensure(self, name: str, directory: Path, extensions: str, extfile: Path | None = None) -> Issued:
        key, certificate, request = directory / f"{name}.key", directory / f"{name}.pem", directory / f"{name}.csr"
        if certificate.exists():
            return Issued(name, certificate, "kept")
        directory.mkdir(parents=True, exist_ok=True)
        if request.exists() and not key.exists():
            found = self._subject_cn(request)
            if found != name:
                raise PkiError(f"{request}: the request is for {found!r}, not {name!r} / 证书请求的 CN 不符")
            action: Literal["issued", "issued-for-existing-key", "issued-from-request"] = "issued-from-request"
        else:
            action = "issued-for-existing-key" if key.exists() else "issued"
            if not key.exists():
                self._new_key(key)
            self._run(
                "req", "-config", self._rel(self.config), "-new", "-key", self._rel(key), "-subj", f"/CN={name}",
                "-out", self._rel(request),
            )  # fmt: skip
        self._sign(request, certificate, extensions, extfile)
        return Issued(name, certificate, action)

    def ensure_client(self, account: str) -> Issued:
        """`clients/<account>/`: the account's certificate (and key, unless it came as a request), with
        a copy of the CA certificate, everything its machine needs."""
        directory = self.clients_dir / account
        issued = self._ensure(account, directory, "client_cert")
        if not (directory / "ca.pem").exists():
            shutil.copyfile(self.ca_cert, directory / "ca.pem")
        return issued

    def ensure_broker(self, hosts: list[str]) -> Issued:
        """`broker/`: the broker's server certificate for `hosts` (the [broker] url's host and any
        other names clients use), a copy of the CA certificate."""
        names = [f"IP:{h}" if _is_ip(h) else f"DNS:{h}" for h in dict.fromkeys(hosts)]
        extfile = self.ca_dir / "broker.ext"
        extfile.write_text(
            "[ server_cert ]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n"
            "extendedKeyUsage = serverAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid, issuer\n"
            f"subjectAltName = {', '.join(names)}\n",
            encoding="utf-8",
        )
        issued = self._ensure("broker", self.broker_dir, "server_cert", extfile)
        shutil.copyfile(self.ca_cert, self.broker_dir / "ca.pem")
        return issued

    # -- revocation ---------------------------------------------------------------------------
    def serial_of(self, certificate: Path) -> str:
        return self._run("x509", "-in", self._rel(certificate), "-noout", "-serial").decode().strip().split("=", 1)[1]

    def revoke(self, account: str) -> Path:
        """Revoke the account's current certificate and move its directory to `revoked/<account>-<serial>/`
        (the next run issues a new key and certificate if the account is still in the inventory)."""
        directory = self.clients_dir / account
        certificate = directory / f"{account}.pem"
        if not certificate.exists():
            raise PkiError(f"{account}: no certificate at {certificate} to revoke / 无可吊销的证书")
        serial = self.serial_of(certificate)
        self._run(
            "ca", "-config", self._rel(self.config), "-revoke", self._rel(certificate), "-crl_reason", "superseded"
        )
        target = self.root / "revoked" / f"{account}-{serial}"
        target.parent.mkdir(parents=True, exist_ok=True)
        directory.rename(target)
        return target

    def write_crl(self) -> Path | None:
        """`broker/crl.pem`, renewed (valid CRL_DAYS from now); None when the CA key is offline."""
        if not self.signing_possible:
            return None
        self.broker_dir.mkdir(parents=True, exist_ok=True)
        crl = self.broker_dir / "crl.pem"
        self._run("ca", "-config", self._rel(self.config), "-gencrl", "-out", self._rel(crl))
        return crl

    def issued_accounts(self) -> list[str]:
        """The accounts that have a directory under clients/ (to name those the inventory dropped)."""
        if not self.clients_dir.is_dir():
            return []
        return sorted(p.name for p in self.clients_dir.iterdir() if p.is_dir())


def _is_ip(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return False
    return True
