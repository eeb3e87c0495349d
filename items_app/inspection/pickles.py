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

import io
import pickletools
import zlib
from dataclasses import dataclass, field
from typing import Any, cast

from items_app.inspection.source import Malformed, Source

MAX_SCAN = 64 * 1024 * 1024  # bytes of pickle stream scanned per file; the rest is "cut off"
FIRST_READ = 1024 * 1024  # bytes of a pickle stream read first
MAX_LINE = 64 * 1024  # a protocol-0 argument line
MAX_STACK = 100_000
MAX_GLOBALS = 100  # reported
KEPT_GLOBALS = 1_000  # distinct imports kept while scanning
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


class Stream:
    """A pickle stream to scan, ``length`` bytes of which at most ``limit`` are read (into memory: ``genops``
    over ``io.BytesIO`` is twice as fast as over a reader written in Python). ``data(size)`` answers the
    first ``size`` bytes, reading only what earlier calls did not."""

    def __init__(self, length: int, limit: int | None) -> None:
        self.length = length
        self.limit = MAX_SCAN if limit is None else limit
        self.available = min(length, self.limit)
        self.read = b""

    def _extend(self, size: int) -> bytes:  # the next ``size`` bytes of the stream
        raise NotImplementedError

    def cut(self) -> bool:
        """Whether the stream goes on past the limit."""
        raise NotImplementedError

    def data(self, size: int) -> bytes:
        size = min(size, self.available)
        if size > len(self.read):
            self.read += self._extend(size - len(self.read))
        return self.read[:size]


class StoredStream(Stream):
    """``length`` bytes of ``source`` from ``start``, as stored."""

    def __init__(self, source: Source, start: int, length: int, limit: int | None = None) -> None:
        super().__init__(length, limit)
        self.source = source
        self.start = start

    def _extend(self, size: int) -> bytes:
        return self.source.read_at(self.start + len(self.read), size)

    def cut(self) -> bool:
        return self.length > self.limit


class DeflatedStream(Stream):
    """A zip member compressed with deflate, inflated as far as asked, in bounded steps."""

    def __init__(self, source: Source, start: int, length: int, limit: int | None = None) -> None:
        super().__init__(1 << 62, limit)  # the inflated length is known only at the end
        self.source = source
        self.position = start
        self.end = start + length
        self.inflater = zlib.decompressobj(-15)
        self.pending = b""

    def _extend(self, size: int) -> bytes:
        parts: list[bytes] = []
        have = 0
        try:
            while have < size and not self.inflater.eof:
                if not self.pending:
                    if self.position >= self.end:
                        break
                    self.pending = self.source.read_at(self.position, min(CHUNK, self.end - self.position))
                    self.position += len(self.pending)
                data = self.inflater.decompress(self.pending, size - have)
                self.pending = self.inflater.unconsumed_tail
                parts.append(data)
                have += len(data)
        except zlib.error:
            raise Malformed("a deflated member is corrupt") from None
        if have < size:  # the member ends here
            self.available = len(self.read) + have
        return b"".join(parts)

    def cut(self) -> bool:
        return not self.inflater.eof and (bool(self.pending) or self.position < self.end)


@dataclass
class Scan:
    """What the scan of one pickle stream found."""

    globals: set[tuple[str, str]] = field(default_factory=set)  # (module, name), bounded
    levels: set[str] = field(default_factory=set)  # of every import seen, kept or not
    dangerous: int = 0  # dangerous imports kept
    pickles: int = 0
    cut_off: bool = False
    error: str | None = None

    def add(self, module: Any, name: Any) -> None:
        module = module if isinstance(module, str) and module else UNKNOWN
        name = name if isinstance(name, str) and name else UNKNOWN
        if (module, name) in self.globals:
            return
        level = classify(module, name)
        self.levels.add(level)
        # a pickle that imports thousands of other names first cannot push the dangerous ones out
        if level == "dangerous" and self.dangerous < KEPT_GLOBALS:
            self.dangerous += 1
            self.globals.add((module, name))
        elif len(self.globals) - self.dangerous < KEPT_GLOBALS:
            self.globals.add((module, name))

    def merge(self, other: Scan) -> None:
        self.globals |= other.globals
        self.levels |= other.levels
        self.dangerous += other.dangerous
        self.pickles += other.pickles
        self.cut_off = self.cut_off or other.cut_off
        self.error = other.error or self.error

    def verdict(self) -> str:
        levels = self.levels
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
        """The globals that made the verdict (those not safe), sorted, the dangerous ones first when they
        are more than the report holds."""
        dangerous = self.names("dangerous")
        return sorted(dangerous + self.names("suspicious")[: max(0, MAX_GLOBALS - len(dangerous))])


_MARK = object()

# What each opcode does to the stack, computed once from pickletools' own descriptions:
# (pops up to a mark?, items popped below the mark or in all, pushes: None or the mark)
_PUSH, _GET, _MEMOIZE, _PUT, _DUP, _GLOBAL, _INST, _STACK_GLOBAL, _EXT, _OTHER = range(10)


def _effects() -> dict[str, tuple[int, bool, int, tuple[Any, ...]]]:
    kinds = {
        **dict.fromkeys(STRING_OPS, _PUSH),
        **dict.fromkeys(GET_OPS, _GET),
        **dict.fromkeys(PUT_OPS, _PUT),
        "MEMOIZE": _MEMOIZE,
        "DUP": _DUP,
        "GLOBAL": _GLOBAL,
        "INST": _INST,
        "STACK_GLOBAL": _STACK_GLOBAL,
        "EXT1": _EXT,
        "EXT2": _EXT,
        "EXT4": _EXT,
    }
    table = {}
    for opcode in pickletools.opcodes:
        before = opcode.stack_before
        marked = pickletools.markobject in before
        pops = before.index(pickletools.markobject) if marked else len(before)
        pushes = tuple(_MARK if item is pickletools.markobject else None for item in opcode.stack_after)
        table[opcode.name] = (kinds.get(opcode.name, _OTHER), marked, pops, pushes)
    return table


_EFFECTS = _effects()


def scan(stream: Stream) -> Scan:
    """Scan the pickles of ``stream``: its first MiB, and four times more each time the pickles run past
    what was read, up to the limit (so the small pickles before a legacy checkpoint's raw bytes cost a MiB
    of reading, and a scan never does more than about 4/3 of the work of one pass over what it needed)."""
    size = FIRST_READ
    while True:
        data = stream.data(size)
        found, starved = _scan_bytes(data, whole=len(data) >= stream.available)
        if not starved:
            return found
        if len(data) >= stream.available:
            if stream.cut():  # the pickle breaks where the limit cut it: unread, not broken
                found.cut_off = True
                found.error = None
            return found
        size *= 4


def _scan_bytes(data: bytes, whole: bool) -> tuple[Scan, bool]:
    """The scan of ``data``, and whether it ran out of bytes (more of the stream could change it)."""
    found = Scan()
    file = io.BytesIO(data)
    for _ in range(MAX_PICKLES):
        try:
            _scan_one(file, found)
        except Exception as error:  # genops raises ValueError for broken streams, others for odd ones
            if file.tell() >= len(data) and not whole:
                return found, True
            if found.pickles == 0:
                found.error = f"not a pickle: {str(error)[:120]}"
            # after complete pickles, what follows (a legacy torch file's raw storage bytes) is data
            return found, file.tell() >= len(data)
        found.pickles += 1
        following = data[file.tell() : file.tell() + 2]
        if len(following) < 2 and not whole:
            return found, True
        if len(following) < 2 or following[0] != 0x80 or not 2 <= following[1] <= 5:
            return found, False
    return found, False


def _scan_one(file: io.BytesIO, found: Scan) -> None:
    """One pickle, with a model of its stack and memo good enough to name what STACK_GLOBAL imports."""
    stack: list[Any] = []
    memo: dict[int, Any] = {}
    push = stack.append

    def pop_to_mark() -> None:
        while stack:
            if stack.pop() is _MARK:
                return

    for opcode, argument, _position in pickletools.genops(file):
        kind, marked, pops, pushes = _EFFECTS[opcode.name]
        if kind == _PUSH:
            push(argument)
        elif kind == _OTHER:
            if marked:
                pop_to_mark()
            for _ in range(pops):
                if stack:
                    stack.pop()
            stack.extend(pushes)
        elif kind == _GET:
            push(memo.get(cast(int, argument)))
        elif kind == _MEMOIZE:
            memo[len(memo)] = stack[-1] if stack else None
        elif kind == _PUT:
            memo[cast(int, argument)] = stack[-1] if stack else None
        elif kind == _DUP:
            push(stack[-1] if stack else None)
        elif kind in (_GLOBAL, _INST):
            module, _, attribute = str(argument).partition(" ")
            found.add(module, attribute)
            if kind == _INST:
                pop_to_mark()
            push(None)
        elif kind == _STACK_GLOBAL:
            named = stack.pop() if stack else None
            found.add(stack.pop() if stack else None, named)
            push(None)
        else:  # EXT1, EXT2, EXT4: the copyreg extension registry, a callable we cannot name
            found.add(UNKNOWN, UNKNOWN)
            push(None)
        if len(stack) > MAX_STACK:
            del stack[: len(stack) - MAX_STACK]
