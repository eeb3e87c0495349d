"""The safety scan of pickle streams: opcode by opcode with ``pickletools.genops``, never unpickling.

A pickle runs code by importing a callable (GLOBAL, INST, STACK_GLOBAL) and calling it (REDUCE, NEWOBJ,
OBJ, BUILD). The scan lists the imports and sorts them: an allow-list of what model files legitimately
import (torch's tensor rebuilding and storages, numpy arrays and dtypes, collections.OrderedDict, plain
builtins) is "safe", known code-execution callables (os.system, builtins.eval, subprocess.*, …) are
"dangerous", anything else is "suspicious". STACK_GLOBAL takes its module and name from the stack, so
the scan keeps a small model of the stack and the memo: a name pushed once, memoised and fetched again
(the trick that hides ``os.system`` from a scanner that only looks at the two preceding opcodes) is
still resolved; a name that cannot be resolved is "unknown", which is suspicious.

The approach is that of picklescan (github.com/mmaitre314/picklescan, scanner.py) and of the Hugging Face
Hub's pickle scanning, and the dangerous list draws on picklescan's; the code is our own. A scan cannot
prove a pickle safe: an allowed callable may be abused in ways no list foresees (docs/inspection.md).
"""

from __future__ import annotations

import pickletools
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, cast

from items_app.inspection.source import Malformed, Source

MAX_SCAN = 64 * 1024 * 1024  # bytes of pickle stream scanned per file; the rest is "cut off"
MAX_LINE = 64 * 1024  # a protocol-0 argument line
MAX_STACK = 100_000
MAX_GLOBALS = 100
MAX_PICKLES = 8  # pickles one after another in one stream (a legacy torch.save writes five)
CHUNK = 64 * 1024

STRING_OPS = {
    "STRING",
    "BINSTRING",
    "SHORT_BINSTRING",
    "UNICODE",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
}
GET_OPS = {"GET", "BINGET", "LONG_BINGET"}
PUT_OPS = {"PUT", "BINPUT", "LONG_BINPUT"}
UNKNOWN = "unknown"

_TORCH_REBUILDS = {
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_qtensor",
    "_rebuild_sparse_tensor",
    "_rebuild_nested_tensor",
    "_rebuild_device_tensor_from_numpy",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_wrapper_subclass",
}
_TORCH_TYPES = {
    "Size",
    "Tensor",
    "device",
    "dtype",
    "float16",
    "float32",
    "float64",
    "bfloat16",
    "half",
    "float",
    "double",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "bool",
    "complex64",
    "complex128",
    "float8_e4m3fn",
    "float8_e5m2",
    "long",
    "int",
    "short",
}
_PLAIN_BUILTINS = {
    "set",
    "frozenset",
    "slice",
    "range",
    "complex",
    "bytearray",
    "bytes",
    "dict",
    "list",
    "tuple",
    "int",
    "float",
    "bool",
    "str",
    "object",
}
SAFE: dict[str, set[str] | str] = {
    "collections": {"OrderedDict", "Counter", "defaultdict"},
    "torch._utils": _TORCH_REBUILDS,
    "torch._tensor": {"_rebuild_from_type_v2"},
    "torch.nn.parameter": {"Parameter"},
    "torch": _TORCH_TYPES,  # and every torch.*Storage, below
    "torch.storage": {"UntypedStorage", "TypedStorage"},
    "numpy": {"dtype", "ndarray"},
    "numpy.core.multiarray": {"_reconstruct", "scalar"},
    "numpy._core.multiarray": {"_reconstruct", "scalar"},
    "numpy.core.numeric": {"_frombuffer"},
    "numpy._core.numeric": {"_frombuffer"},
    "numpy.dtypes": "*",
    "builtins": _PLAIN_BUILTINS,
    "__builtin__": _PLAIN_BUILTINS,
    "copyreg": {"_reconstructor"},
    "copy_reg": {"_reconstructor"},
    "_codecs": {"encode"},  # how protocol 2 carries bytes (numpy scalars)
}
_RUN_CODE_BUILTINS = {
    "eval",
    "exec",
    "compile",
    "open",
    "__import__",
    "getattr",
    "setattr",
    "delattr",
    "globals",
    "locals",
    "vars",
    "breakpoint",
    "input",
    "apply",
    "execfile",
}
DANGEROUS: dict[str, set[str] | str] = {
    "builtins": _RUN_CODE_BUILTINS,
    "__builtin__": _RUN_CODE_BUILTINS,
    "os": "*",
    "posix": "*",
    "nt": "*",
    "subprocess": "*",
    "commands": "*",
    "sys": "*",
    "socket": "*",
    "ssl": "*",
    "shutil": "*",
    "webbrowser": "*",
    "pty": "*",
    "importlib": "*",
    "runpy": "*",
    "code": "*",
    "codeop": "*",
    "ctypes": "*",
    "_ctypes": "*",
    "pickle": "*",
    "_pickle": "*",
    "dill": "*",
    "marshal": "*",
    "types": {"FunctionType", "CodeType", "LambdaType", "MethodType"},
    "functools": {"partial", "reduce"},
    "operator": {"attrgetter", "itemgetter", "methodcaller"},
    "asyncio": "*",
    "aiohttp": "*",
    "multiprocessing": "*",
    "threading": "*",
    "http": "*",
    "httplib": "*",
    "urllib": "*",
    "urllib2": "*",
    "requests": "*",
    "pip": "*",
    "ensurepip": "*",
    "venv": "*",
    "bdb": "*",
    "pdb": "*",
    "timeit": "*",
    "pydoc": "*",
    "cProfile": "*",
    "profile": "*",
    "trace": "*",
    "platform": {"popen"},
    "tempfile": "*",
    "glob": "*",
    "distutils": "*",
    "setuptools": "*",
    "numpy.f2py": "*",
    "numpy.testing": "*",
    "numpy": {"load", "fromfile"},
    "torch": {"load"},
    "torch.serialization": {"load"},
    "torch.hub": "*",
    "torch.jit": "*",
}


def _listed(table: dict[str, set[str] | str], module: str, name: str) -> bool:
    """Whether module.name is in ``table``; a module listed with "*" covers its submodules too."""
    parts = module.split(".")
    for cut in range(len(parts), 0, -1):
        names = table.get(".".join(parts[:cut]))
        if names == "*":
            return True
        if cut == len(parts) and names is not None and name in names:
            return True
    return False


def classify(module: str, name: str) -> str:
    """ "safe", "suspicious" or "dangerous" for an imported global."""
    if module == UNKNOWN or name == UNKNOWN:
        return "suspicious"
    if _listed(DANGEROUS, module, name):
        return "dangerous"
    if _listed(SAFE, module, name) or (module == "torch" and name.endswith("Storage")):
        return "safe"
    return "suspicious"


class _Stream:
    """A file-like window on a pickle stream for ``genops``: at most ``limit`` bytes; ``cut_off`` says the
    limit (not the stream's end) stopped a read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer = bytearray()
        self.consumed = 0
        self.cut_off = False
        self.ended = False

    def _more(self) -> bytes:  # the next chunk of the stream, b"" at its end
        raise NotImplementedError

    def _fill(self, wanted: int) -> None:
        while len(self.buffer) < wanted and not self.ended:
            if self.consumed + len(self.buffer) >= self.limit:
                self.cut_off = True
                return
            chunk = self._more()
            if not chunk:
                self.ended = True
            self.buffer += chunk[: self.limit - self.consumed - len(self.buffer)]

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise Malformed("an unbounded read of a pickle")
        self._fill(size)
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        self.consumed += len(data)
        return data

    def readline(self) -> bytes:
        searched = 0
        while True:
            newline = self.buffer.find(b"\n", searched)
            if newline >= 0:
                return self.read(newline + 1)
            searched = len(self.buffer)
            if searched >= MAX_LINE or self.ended or self.cut_off:
                return self.read(min(searched, MAX_LINE))
            self._fill(searched + CHUNK)
            if len(self.buffer) == searched:
                return self.read(searched)

    def tell(self) -> int:
        return self.consumed

    def peek(self, size: int) -> bytes:
        self._fill(size)
        return bytes(self.buffer[:size])


class StoredStream(_Stream):
    """``length`` bytes of ``source`` from ``start``, as stored."""

    def __init__(self, source: Source, start: int, length: int, limit: int | None = None) -> None:
        super().__init__(MAX_SCAN if limit is None else limit)
        self.source = source
        self.next = start
        self.end = start + length

    def _more(self) -> bytes:
        length = min(CHUNK, self.end - self.next)
        if length <= 0:
            return b""
        data = self.source.read_at(self.next, length)
        self.next += length
        return data


class DeflatedStream(StoredStream):
    """A zip member compressed with deflate, inflated as it is read (never more than the limit)."""

    def __init__(self, source: Source, start: int, length: int, limit: int | None = None) -> None:
        super().__init__(source, start, length, limit)
        self.inflater = zlib.decompressobj(-15)

    def _more(self) -> bytes:
        while True:
            pending = self.inflater.unconsumed_tail
            if not pending:
                if self.inflater.eof:
                    return b""
                pending = super()._more()
                if not pending:
                    return self.inflater.flush()
            try:
                data = self.inflater.decompress(pending, CHUNK)
            except zlib.error:
                raise Malformed("a deflated member is corrupt") from None
            if data or self.inflater.eof:
                return data


@dataclass
class Scan:
    """What the scan of one pickle stream found."""

    globals: set[tuple[str, str]] = field(default_factory=set)  # (module, name)
    pickles: int = 0
    cut_off: bool = False
    error: str | None = None

    def merge(self, other: Scan) -> None:
        self.globals |= other.globals
        self.pickles += other.pickles
        self.cut_off = self.cut_off or other.cut_off
        self.error = other.error or self.error

    def verdict(self) -> str:
        levels = {classify(module, name) for module, name in self.globals}
        if "dangerous" in levels:
            return "dangerous"
        if "suspicious" in levels or self.cut_off or self.error:
            return "suspicious"
        return "safe"

    def names(self, level: str | None = None) -> list[str]:
        """ "module.name" of the globals (of one level only, if given), sorted."""
        return sorted(
            f"{module}.{name}" for module, name in self.globals if level is None or classify(module, name) == level
        )

    def flagged(self) -> list[str]:
        """The globals that made the verdict (those not safe), sorted."""
        return sorted(self.names("dangerous") + self.names("suspicious"))


_MARK = object()


def scan(stream: _Stream) -> Scan:
    """Scan the pickles of ``stream``, one after another while the next one starts with PROTO."""
    found = Scan()
    for _ in range(MAX_PICKLES):
        try:
            _scan_one(stream, found)
        except Malformed:
            raise
        except Exception as error:  # genops raises ValueError for broken streams, others for odd ones
            if stream.cut_off:
                found.cut_off = True
            elif found.pickles == 0:
                found.error = f"not a pickle: {str(error)[:120]}"
            # after complete pickles, what follows (a legacy torch file's raw storage bytes) is data
            return found
        found.pickles += 1
        following = stream.peek(2)
        if len(following) < 2 or following[0] != 0x80 or not 2 <= following[1] <= 5:
            return found
    return found


def _scan_one(stream: _Stream, found: Scan) -> None:
    stack: list[Any] = []
    memo: dict[int, Any] = {}

    def pop() -> Any:
        return stack.pop() if stack else None

    def pop_to_mark() -> None:
        while stack:
            if stack.pop() is _MARK:
                return

    def add(module: Any, name: Any) -> None:
        module = module if isinstance(module, str) and module else UNKNOWN
        name = name if isinstance(name, str) and name else UNKNOWN
        if len(found.globals) < 10 * MAX_GLOBALS:
            found.globals.add((module, name))

    for opcode, argument, _position in pickletools.genops(cast(IO[bytes], stream)):
        name = opcode.name
        if name in STRING_OPS:
            stack.append(argument)
        elif name in GET_OPS:
            stack.append(memo.get(cast(int, argument)))
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif name in PUT_OPS:
            memo[cast(int, argument)] = stack[-1] if stack else None
        elif name == "DUP":
            stack.append(stack[-1] if stack else None)
        elif name in ("GLOBAL", "INST"):
            module, _, attribute = str(argument).partition(" ")
            add(module, attribute)
            if name == "INST":
                pop_to_mark()
            stack.append(None)
        elif name == "STACK_GLOBAL":
            attribute = pop()
            add(pop(), attribute)
            stack.append(None)
        elif name in ("EXT1", "EXT2", "EXT4"):
            add(UNKNOWN, UNKNOWN)  # the copyreg extension registry: a callable we cannot name
            stack.append(None)
        else:
            before = opcode.stack_before
            if pickletools.markobject in before:
                pop_to_mark()
                for _ in range(before.index(pickletools.markobject)):
                    pop()
            else:
                for _ in before:
                    pop()
            for item in opcode.stack_after:
                stack.append(_MARK if item is pickletools.markobject else None)
        if len(stack) > MAX_STACK:
            del stack[: len(stack) - MAX_STACK]
    if stream.cut_off:
        found.cut_off = True
