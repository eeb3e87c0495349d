"""Receiving version files: streamed to a temporary file while their SHA-256 and size are computed.

Nothing holds a whole file in memory. Two ways in, one result (``ReceivedFile``):
- ``multipart/form-data`` (the contract's form, part ``file``) through ``HashingUploadHandler``;
- a raw body (``application/octet-stream``, file name in ``Content-Disposition``), read by
  ``receive_raw`` without multipart parsing — the fast path for scripts and multi-gigabyte files.
Both refuse a file over ``MAX_UPLOAD_SIZE`` with 413 while it streams, and delete what they wrote when
anything goes wrong.

A background thread hashes and writes each chunk while the request thread receives the next one (hashlib
and ``os.write`` release the GIL), and under gunicorn the body is read from the socket with ``recv_into``
(``SocketBody``: a raw body into a few reused buffers, a multipart body for Django's parser) instead of
through gunicorn's body reader, which copies every byte several times on its way: together they halve the
server's CPU time per uploaded byte (bench/README.md, "File transfers").
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import io
import os
import queue
import re
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol, cast

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError

from framework.errors import (
    Invalid,
    ServiceError,
    TooLarge,
    UnsupportedMediaType,
    UploadFailed,
    receiving_failed,
)

if TYPE_CHECKING:
    from django.core.handlers.wsgi import WSGIRequest

    class DjangoStream(LimitedStream):
        """Django's ``LimitedStream`` with the private attributes ``SocketBody`` moves (django-stubs omits them)."""

        _read: Callable[[int], bytes]
        _readline: Callable[[int], bytes]
        _pos: int

    class GunicornLengthReader(Protocol):
        """gunicorn's ``LengthReader`` (gunicorn ships no type hints), as ``SocketBody`` uses it."""

        length: int


CHUNK = 1024 * 1024
IN_FLIGHT = 4  # chunks received but not yet hashed and written: bounds the memory an upload holds
# Writes into the page cache in 64 KiB pieces: larger writes cost the kernel more CPU per byte (measured in
# bench/README.md, "File transfers").
WRITE_SIZE = 64 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file in a multipart body
MAX_ORIGINAL_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 20000


class ReceivedFile(TemporaryUploadedFile):
    """An upload on disk with the digest and size computed while it arrived."""

    size: int  # set by ``DigestingFile.finish``, like ``sha256``
    sha256: str
    original: str  # the safe base name (``safe_original``), checked before the first byte was written


def too_large(size: int | None = None) -> TooLarge:
    limit = settings.MAX_UPLOAD_SIZE
    seen = f" ({size} bytes)" if size is not None else ""
    return TooLarge(f"file: larger than MAX_UPLOAD_SIZE, {limit} bytes{seen}")


def refuse_oversized_request(request: HttpRequest, overhead: int) -> None:
    """413 before reading anything, when the declared length already exceeds the limit."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise UploadFailed("Content-Length: not a number") from None
    if declared > settings.MAX_UPLOAD_SIZE + overhead:
        raise too_large(declared)


Chunk = bytes | bytearray | memoryview


class HashWriter:
    """A thread that hashes chunks and writes them to a file descriptor, in order, beside the receiver.

    At most ``IN_FLIGHT`` chunks wait, so a fast sender cannot make the upload hold more memory. A chunk
    that is a reused buffer comes with ``release``, called once the buffer may be filled again. A failure
    (a full disk) is kept and raised by the next ``put`` or by ``close``.
    """

    def __init__(self, fd: int, hasher: Any) -> None:
        self.fd, self.hasher = fd, hasher
        self.error: BaseException | None = None
        self.jobs: queue.Queue[tuple[Chunk, Callable[[], None] | None] | None] = queue.Queue(IN_FLIGHT)
        self.thread = threading.Thread(target=self._run, name="upload-hash-write", daemon=True)
        self.thread.start()

    def put(self, chunk: Chunk, release: Callable[[], None] | None = None) -> None:
        if self.error is not None:
            if release is not None:
                release()
            raise self.error
        self.jobs.put((chunk, release))

    def close(self) -> None:
        """Wait for every chunk to be written; raise what went wrong, if anything."""
        self.jobs.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (job := self.jobs.get()) is not None:
            chunk, release = job
            try:
                if self.error is None:
                    self.hasher.update(chunk)
                    write_all(self.fd, chunk)
            except BaseException as exc:  # handed to the receiving thread
                self.error = exc
            finally:
                if release is not None:
                    release()


def write_all(fd: int, chunk: Chunk) -> None:
    """``os.write`` until the whole chunk is on its way, ``WRITE_SIZE`` bytes at a time."""
    view = memoryview(chunk)
    while view:
        view = view[os.write(fd, view[:WRITE_SIZE]) :]


class DigestingFile:
    """Writes chunks to a fresh temporary upload file, hashing and counting them.

    Past ``limit`` bytes it refuses the file with 413 while it streams (uploads pass MAX_UPLOAD_SIZE);
    ``None`` means no limit (restoring a backup). Hashing and writing happen in a ``HashWriter`` thread,
    started with the first chunk.
    """

    def __init__(self, name: str | None, content_type: str, limit: int | None) -> None:
        self.limit = limit
        original = safe_original(name)  # checked before anything is written
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        self.file = ReceivedFile(original, content_type or "application/octet-stream", 0, None)
        self.file.original = original
        self.hasher = hashlib.sha256()
        self.size = 0
        self.writer: HashWriter | None = None

    def write(self, chunk: Chunk, release: Callable[[], None] | None = None) -> None:
        """Take a chunk; a reused buffer comes with ``release``, called once it is hashed and written."""
        self.size += len(chunk)
        if self.limit is not None and self.size > self.limit:
            if release is not None:
                release()
            self.discard()
            raise too_large()
        if self.writer is None:
            # The file object's own buffer is bypassed: the thread writes to its descriptor directly.
            self.writer = HashWriter(self.file.fileno(), self.hasher)
        self.writer.put(chunk, release)

    def finish(self) -> ReceivedFile:
        self._stop_writer()
        self.file.seek(0)
        self.file.size = self.size
        self.file.sha256 = self.hasher.hexdigest()
        return self.file

    def discard(self) -> None:
        with contextlib.suppress(BaseException):  # the file is being thrown away, whatever went wrong
            self._stop_writer()
        self.file.close()  # a NamedTemporaryFile: closing deletes it

    def _stop_writer(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.close()


def received_copy(source: IO[bytes], name: str, content_type: str = "application/octet-stream") -> ReceivedFile:
    """Bytes that come from elsewhere than a request (a file on disk, an archive member, generated content)
    as an upload arrives: a temporary file with their SHA-256 and size, streamed in chunks (memory stays
    flat). Nothing is left behind when reading fails."""
    sink = DigestingFile(name, content_type, limit=None)
    try:
        while chunk := source.read(CHUNK):
            sink.write(chunk)
    except BaseException:
        sink.discard()  # stops its writer thread and deletes the partial file
        raise
    return sink.finish()


class HashingUploadHandler(FileUploadHandler):
    """Django upload handler for the multipart form: every file part goes to disk, hashed on the way."""

    chunk_size = CHUNK

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.current: DigestingFile | None = None
        self.received: list[ReceivedFile] = []

    def new_file(self, field_name: str, file_name: str, content_type: str, *args: Any, **kwargs: Any) -> None:
        super().new_file(field_name, file_name, content_type, *args, **kwargs)
        self.current = DigestingFile(file_name, content_type, settings.MAX_UPLOAD_SIZE)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        assert self.current is not None
        self.current.write(raw_data)

    def file_complete(self, file_size: int) -> ReceivedFile:
        assert self.current is not None
        received = self.current.finish()
        self.received.append(received)
        self.current = None
        return received

    def upload_interrupted(self) -> None:
        if self.current is not None:
            self.current.discard()
            self.current = None

    def handle_raw_input(self, input_data: Any, *args: Any, **kwargs: Any) -> None:
        """Before parsing starts: under gunicorn, the parser reads the socket directly (``SocketBody``).

        The request's ``LimitedStream`` stays (it still counts what was read); only its source changes.
        Returning None leaves the parsing itself to Django.
        """
        if isinstance(input_data, HttpRequest) and (source := gunicorn_socket_body(input_data)) is not None:
            # LimitedStream reads its source through these two attributes (it keeps the bound methods).
            source.stream._read, source.stream._readline = source.read, source.readline


_FILENAME_STAR = re.compile(r"filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)")
_FILENAME = re.compile(r'filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;\s]+)')


def filename_from_disposition(header: str) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*=UTF-8''…`` preferred)."""
    from urllib.parse import unquote

    star = _FILENAME_STAR.search(header)
    if star:
        return unquote(star.group(1).strip())
    plain = _FILENAME.search(header)
    if plain:
        return (plain.group(1) if plain.group(1) is not None else plain.group(2)).replace('\\"', '"')
    return None


def receive_raw(request: HttpRequest) -> ReceivedFile:
    """Stream a raw request body (``application/octet-stream``) to disk; its name from Content-Disposition."""
    name = filename_from_disposition(request.META.get("HTTP_CONTENT_DISPOSITION", ""))
    if name is None:
        raise UploadFailed('Content-Disposition: send attachment; filename="<name>"')
    if request.META.get("CONTENT_LENGTH") in (None, ""):
        raise UploadFailed("Content-Length: required for a raw upload")
    refuse_oversized_request(request, overhead=0)
    sink = DigestingFile(name, request.META.get("CONTENT_TYPE", "application/octet-stream"), settings.MAX_UPLOAD_SIZE)
    expected = int(request.META["CONTENT_LENGTH"])
    try:
        stream_body(request, sink)
        if sink.size != expected:
            raise UploadFailed(f"body: {sink.size} of {expected} bytes arrived")
        return sink.finish()  # waits for the last writes: a full disk shows here
    except ServiceError:
        sink.discard()
        raise
    except Exception as exc:
        sink.discard()
        raise receiving_failed(exc) from None


class ChunkSink(Protocol):
    """Where a body's bytes go: ``DigestingFile``, or a resumable upload's ``Appender``."""

    def write(self, chunk: Chunk, release: Callable[[], None] | None = None) -> None: ...


def stream_body(request: HttpRequest, sink: ChunkSink) -> None:
    """Hand the whole request body to ``sink`` in chunks: from gunicorn's socket when it serves the request
    (``SocketBody``), else through ``request.read``. Fewer bytes than declared arrive when the client hangs
    up; a reset raises ``OSError``."""
    source = gunicorn_socket_body(request)
    if source is not None:
        source.copy_to(sink)
        return
    while chunk := request.read(CHUNK):
        sink.write(chunk)


@dataclass
class SocketBody:
    """The unread rest of a request body of known length: bytes gunicorn already held, then its socket.

    ``reader`` is gunicorn's ``LengthReader``: its ``length`` is kept equal to what is still unread on the
    socket, so after the response gunicorn skips exactly the rest of the body (a 413 or a short body) before
    the next request on the connection, as if it had read the body itself. ``body`` is gunicorn's ``Body``:
    a failed read marks it ``failed``, which makes gunicorn close the connection.
    """

    head: memoryview
    sock: socket.socket
    reader: GunicornLengthReader
    body: Any
    stream: DjangoStream

    def copy_to(self, sink: ChunkSink) -> None:
        """Receive the whole body into ``IN_FLIGHT`` reused buffers, handing each full one to ``sink``."""
        free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
        for _ in range(IN_FLIGHT):
            free.put(memoryview(bytearray(CHUNK)))
        while wanted := min(CHUNK, self.remaining()):
            buffer = free.get()  # waits while every buffer is still being hashed or written
            filled = self.fill(buffer[:wanted])
            self.stream._pos += filled  # Django's stream follows: nothing reads these bytes again through it
            if filled:
                # mypy cannot infer a lambda whose parameter has a default (here: this iteration's buffer).
                sink.write(buffer[:filled], release=lambda buffer=buffer: free.put(buffer))  # type: ignore[misc]
            else:
                free.put(buffer)
            if filled < wanted:
                return  # the client hung up; the caller sees the missing bytes

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes, what one ``recv`` brings (Django's ``LimitedStream`` and parser take short reads).

        One ``recv`` into a fresh ``bytes`` is the only copy: the parser keeps the chunks it is given.
        """
        wanted = self.remaining() if size is None or size < 0 else min(size, self.remaining())
        if not wanted:
            return b""
        if self.head:
            held, self.head = bytes(self.head[:wanted]), self.head[wanted:]
            return held
        try:
            data = self.sock.recv(wanted)
        except BaseException:
            self.body.failed = True  # a reset or timeout: where the next request starts is unknown
            raise
        if not data:
            self.body.failed = True  # nothing more comes on this connection: gunicorn closes it
        self.reader.length -= len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        """One line, a byte at a time (the multipart parser never asks for lines; this is for completeness)."""
        line = bytearray()
        while (size is None or size < 0 or len(line) < size) and (byte := self.read(1)):
            line += byte
            if byte == b"\n":
                break
        return bytes(line)

    def remaining(self) -> int:
        return len(self.head) + self.reader.length

    def fill(self, view: memoryview) -> int:
        """Fill ``view`` from the held bytes, then with ``recv_into``; less only when the peer closes."""
        filled = min(len(self.head), len(view))
        view[:filled] = self.head[:filled]
        self.head = self.head[filled:]
        try:
            while filled < len(view):
                received = self.sock.recv_into(view[filled:])
                if not received:
                    self.body.failed = True  # nothing more comes on this connection: gunicorn closes it
                    break
                filled += received
                self.reader.length -= received
        except BaseException:
            self.body.failed = True  # a reset or timeout: where the next request starts is unknown
            raise
        return filled


def gunicorn_socket_body(request: HttpRequest) -> SocketBody | None:
    """The body's socket when gunicorn serves this request over HTTP/1.1 with a Content-Length, else None.

    Only an untouched body qualifies (nothing has read it through Django), and only gunicorn's exact reader
    classes, whose buffers are drained here. Anything else — chunked bodies, HTTP/2, other servers, the
    Django test client — reads through ``request.read`` as before.
    """
    stream: DjangoStream | None = getattr(request, "_stream", None)
    if type(stream) is not LimitedStream or stream._pos != 0 or hasattr(request, "_body"):
        return None
    try:
        from gunicorn.http.body import Body, LengthReader
        from gunicorn.http.unreader import SocketUnreader
    except ImportError:
        return None
    body = cast("WSGIRequest", request).environ.get("wsgi.input")  # a LimitedStream body: a WSGI request
    if type(body) is not Body or type(body.reader) is not LengthReader:
        return None
    reader = body.reader
    unreader = reader.unreader
    if type(unreader) is not SocketUnreader or not isinstance(unreader.sock, socket.socket):
        return None
    if not hasattr(unreader, "take_buffered") or body.buf.tell() + reader.length != stream.limit:
        return None
    return SocketBody(memoryview(_drain_buffers(body, reader, unreader)), unreader.sock, reader, body, stream)


def _drain_buffers(body: Any, reader: Any, unreader: Any) -> bytes:
    """What gunicorn read ahead of the body: its ``Body`` buffer, then the body's share of the socket's."""
    held: bytes = body.buf.getvalue()
    body.buf = io.BytesIO()
    ahead: bytes = unreader.take_buffered()
    share = ahead[: reader.length]
    if len(ahead) > len(share):
        unreader.unread(ahead[len(share) :])  # the start of a pipelined next request stays for gunicorn
    reader.length -= len(share)
    return held + share


def expected_digest(request: HttpRequest) -> str | None:
    """The SHA-256 the client announced (``Digest: sha-256=<base64>`` or ``X-Checksum-Sha256: <hex>``)."""
    hex_digest: str | None = request.META.get("HTTP_X_CHECKSUM_SHA256")
    if hex_digest:
        value = hex_digest.strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", value):
            raise UploadFailed("X-Checksum-Sha256: expected 64 hexadecimal characters")
        return value
    digest = request.META.get("HTTP_DIGEST")
    if digest:
        for part in digest.split(","):
            algorithm, _, value = part.strip().partition("=")
            if algorithm.strip().lower() == "sha-256":
                try:
                    raw = base64.b64decode(value.strip(), validate=True)
                except (binascii.Error, ValueError):
                    raise UploadFailed("Digest: sha-256 value is not base64") from None
                if len(raw) != 32:
                    raise UploadFailed("Digest: sha-256 value is not 32 bytes")
                return raw.hex()
    return None


def safe_original(name: str | None) -> str:
    """The base name of an uploaded file's name, without directories or control characters."""
    if not name:
        raise UploadFailed("file: the file has no name")
    base = re.split(r"[\\/]", name)[-1]
    cleaned = "".join(char for char in base if char.isprintable()).strip()
    if cleaned in ("", ".", ".."):
        raise UploadFailed(f"file: {name[:80]!r} is not a usable file name")
    if cleaned.isdigit():
        raise UploadFailed("file: a name of digits only would read as an ordinal; rename it")
    if len(cleaned) > MAX_ORIGINAL_LENGTH:
        raise UploadFailed(f"file: names are at most {MAX_ORIGINAL_LENGTH} characters")
    return cleaned


def receive_upload(request: HttpRequest) -> tuple[ReceivedFile, str]:
    """The uploaded file (streamed to disk, hashed) and its description, from either upload encoding.

    One implementation for the API (``/v1/…/versions``) and the pages (``/models/<id>/versions/upload``):
    it takes Django's ``HttpRequest`` (DRF views pass ``request._request``) and nothing must have read the
    body before it, so the hashing upload handler sees every byte.
    """
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type == "application/octet-stream":
        received = receive_raw(request)
        description = request.GET.get("description", "")
    elif content_type == "multipart/form-data":
        received, description = _receive_multipart(request)
    else:
        raise UnsupportedMediaType("Content-Type: send multipart/form-data (part 'file') or application/octet-stream")
    return received, description


def upload_field(request: HttpRequest, name: str) -> str | None:
    """A field sent with the file, after ``receive_upload``: a form field of a multipart body, a query
    parameter of a raw one (``?description=…&metadata=…``)."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    return (request.GET if content_type == "application/octet-stream" else request.POST).get(name)


def _receive_multipart(request: HttpRequest) -> tuple[ReceivedFile, str]:
    refuse_oversized_request(request, overhead=MULTIPART_OVERHEAD)
    handler = HashingUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        files, fields = request.FILES, request.POST
        if not _body_fully_read(request):
            raise UploadFailed("body: the upload was cut off before its end")
        unknown = sorted((set(fields) - {"description", "metadata", "file"}) | (set(files) - {"file"}))
        if unknown:
            raise Invalid(f"{', '.join(unknown)}: unknown field(s); send 'file', 'description' and 'metadata'")
        # HashingUploadHandler (the request's only handler) made every file of this body.
        received = cast("ReceivedFile | None", files.get("file"))
        if received is None:
            raise Invalid("file: required (a multipart part named 'file')")
        description = fields.get("description", "")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise Invalid(f"description: at most {MAX_DESCRIPTION_LENGTH} characters")
    except MultiPartParserError as exc:
        _discard(handler)
        raise UploadFailed(f"body: Multipart form parse error - {exc}") from None
    except OSError as exc:  # the client hung up mid-body (UnreadablePostError), or the disk is full
        _discard(handler)
        raise receiving_failed(exc) from None
    except BaseException:
        _discard(handler)
        raise
    for other in handler.received:
        if other is not received:
            other.close()
    return received, description


def _discard(handler: HashingUploadHandler) -> None:
    handler.upload_interrupted()
    for received in handler.received:
        received.close()


def _body_fully_read(request: HttpRequest) -> bool:
    """Whether the whole declared body arrived: a client that hangs up mid-file must not leave a version."""
    stream = getattr(request, "_stream", None)
    position, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    return position is None or limit is None or position >= limit
