"""A scripted backend for the upstream client's tests: a raw asyncio server on 127.0.0.1 whose
handler reads each request head and answers with whatever bytes (and faults) the test asks for."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from proxy.client.connection import Connection
from proxy.client.pool import Pool, Resolver

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[bool]]


class RawBackend:
    """Calls ``answer(reader, writer, head)`` for each request head; it returns whether to keep the
    connection for another request."""

    def __init__(self, answer: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.tls = tls
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> RawBackend:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.heads.append(head)
                if not await self.answer(reader, writer, head):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()


def answering(response: bytes, keep: bool = True) -> Handler:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes) -> bool:
        writer.write(response)
        await writer.drain()
        return keep

    return answer


def pool_for(backend: RawBackend, limit: int = 10, wait: float = 1.0, tls: ssl.SSLContext | None = None) -> Pool:
    return Pool(
        host="127.0.0.1" if tls is None else "localhost",
        port=backend.port,
        tls=tls,
        resolver=Resolver(),
        limit=limit,
        wait=wait,
        idle_timeout=30.0,
        max_idle=10,
    )


async def fetch(pool: Pool, method: bytes = b"GET", read: float = 2.0) -> tuple[Connection, bytes]:
    """One request; the caller gives the connection back (``pool.release``) or drops it."""
    conn = await pool.acquire(1.0)
    conn.start(method == b"HEAD")
    await conn.send(method + b" / HTTP/1.1\r\nhost: backend\r\n\r\n", None, False, read)
    await conn.read_head(read)
    parts = []
    while chunk := await conn.read_chunk(read):
        parts.append(chunk)
    return conn, b"".join(parts)


class CertificateAuthority:
    """A certificate authority made for one test, with server and client certificates under it."""

    def __init__(self, folder: Path, name: str = "Test CA") -> None:
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.name = subject
        self.cert = (
            self._builder(subject, self.key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.ca_file = folder / f"{name.replace(' ', '_')}.pem"
        self.ca_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    @property
    def pem(self) -> str:
        """The CA's certificate as PEM text (what a service's CA bundle holds)."""
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def _builder(self, subject: x509.Name, key: ec.EllipticCurvePublicKey) -> x509.CertificateBuilder:
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(getattr(self, "name", subject))
            .public_key(key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )

    def issue(self, name: str, server: bool, addresses: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A certificate and its key; a server's names ``name`` and the IP ``addresses``."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), key.public_key())
        if server:
            names: list[x509.GeneralName] = [x509.DNSName(name)]
            names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        cert = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False).sign(self.key, hashes.SHA256())
        cert_file, key_file = self.folder / f"{name}.crt", self.folder / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_file, key_file
