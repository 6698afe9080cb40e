"""A strict ``.npy`` reader: the spec's ``array.*`` invariants for one archive member.

``numpy.load`` evaluates the header with ``ast.literal_eval``, allocates the declared shape
before reading, and ignores trailing bytes. Here the header is parsed against the spec's
restricted grammar and the data length is compared with the shape before anything is allocated.
The checks are split into steps so the loader can run each invariant over every layer before the
next, as the spec's evaluation order requires.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._limits import ACCEPTED_DTYPES, NPY_DIMENSION_DIGITS_MAX
from .errors import CheckpointError

MAGIC = b"\x93NUMPY"
_VERSIONS = {(1, 0): ("<H", "latin-1"), (2, 0): ("<I", "latin-1"), (3, 0): ("<I", "utf-8")}
# A header may be as long as its length field can say (npy_header_length_max_v1 / _v2): no cap.
# A dimension: "0", or up to NPY_DIMENSION_DIGITS_MAX digits without a leading zero; a longer
# run of digits matches no token (the lookahead), so it is a grammar error, not a big number.
_TOKEN = re.compile(
    r" *(?:([{}():,])|'([^'\\]*)'|(True|False)"
    rf"|(0|[1-9][0-9]{{0,{NPY_DIMENSION_DIGITS_MAX - 1}}})(?![0-9]))"
)
_KEYS = ("descr", "fortran_order", "shape")


@dataclass(frozen=True)
class Header:
    """A parsed header and where the data starts."""

    descr: str
    fortran_order: bool
    shape: tuple[int, ...]
    data_offset: int


def _tokens(text: str) -> list[str | int | bool]:
    """Split the header into tokens; punctuation stays str, quoted strings keep their quotes."""
    tokens: list[str | int | bool] = []
    position, end = 0, len(text.rstrip(" "))  # the padding after the last token is no token
    while position < end:
        match = _TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected {text[position:].lstrip(' ')[:12]!r}")
        punct, string, boolean, integer = match.groups()
        if punct is not None:
            tokens.append(punct)
        elif string is not None:
            tokens.append(f"'{string}'")
        elif boolean is not None:
            tokens.append(boolean == "True")
        else:
            tokens.append(int(integer))
        position = match.end()
    return tokens


def _parse_dict(tokens: list[str | int | bool]) -> dict[str, object]:
    """The grammar: "{" entry ("," entry)* [","] "}" with entry := key ":" value."""
    items = iter(tokens + ["<end>"])

    def take() -> str | int | bool:
        return next(items)

    if take() != "{":
        raise ValueError("header does not start with '{'")
    entries: dict[str, object] = {}
    token = take()
    while token != "}":
        key = token if isinstance(token, str) and token.startswith("'") else None
        if key is None or key[1:-1] not in _KEYS:
            raise ValueError(f"unexpected key {token!r}")
        if key[1:-1] in entries:
            raise ValueError(f"key {key} appears twice")
        if take() != ":":
            raise ValueError(f"expected ':' after {key}")
        entries[key[1:-1]] = _parse_value(key[1:-1], take, take())
        token = take()
        if token == ",":
            token = take()
        elif token != "}":
            raise ValueError(f"expected ',' or '}}', got {token!r}")
    if take() != "<end>":
        raise ValueError("text after the closing '}'")
    missing = [key for key in _KEYS if key not in entries]
    if missing:
        raise ValueError(f"missing key {missing[0]!r}")
    return entries


def _parse_value(key: str, take: Callable[[], str | int | bool], token: str | int | bool) -> object:
    if key == "descr":
        if isinstance(token, str) and token.startswith("'"):
            return token[1:-1]
        raise ValueError(f"'descr' must be a quoted string, got {token!r}")
    if key == "fortran_order":
        if isinstance(token, bool):
            return token
        raise ValueError(f"'fortran_order' must be True or False, got {token!r}")
    if token != "(":
        raise ValueError(f"'shape' must be a tuple, got {token!r}")
    dims: list[int] = []
    token = take()
    while token != ")":
        if isinstance(token, bool) or not isinstance(token, int):
            raise ValueError(f"'shape' holds {token!r}, not a non-negative integer")
        dims.append(token)
        token = take()
        if token == ",":
            token = take()
        elif token != ")":
            raise ValueError(f"expected ',' or ')' in 'shape', got {token!r}")
        elif len(dims) == 1:
            raise ValueError("a one-element 'shape' needs a trailing comma")
    return tuple(dims)


def check_magic(raw: bytes, name: str, member: str) -> None:
    """array.npy.magic: the magic string and a supported version."""
    if len(raw) < 8 or raw[:6] != MAGIC:
        raise CheckpointError("array.npy.magic", name=name, member=member, detail="bad magic")
    if (raw[6], raw[7]) not in _VERSIONS:
        detail = f"unsupported version {raw[6]}.{raw[7]}"
        raise CheckpointError("array.npy.magic", name=name, member=member, detail=detail)


def parse_header(raw: bytes, size: int, name: str, member: str) -> Header:
    """array.npy.header: the header's length, encoding and grammar. ``raw`` is the member's
    first bytes, through the end of the header when the member (``size`` bytes) holds it."""
    length_format, encoding = _VERSIONS[(raw[6], raw[7])]
    start = 8 + struct.calcsize(length_format)
    try:
        if start > size:
            raise ValueError("header length field runs past the end")
        (length,) = struct.unpack_from(length_format, raw, 8)
        if start + length > size:
            raise ValueError(f"header of {length} bytes runs past the end")
        text = raw[start : start + length].decode(encoding)
        if not text.endswith("\n"):
            raise ValueError("header does not end with a newline")
        entries = _parse_dict(_tokens(text[:-1]))
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError("array.npy.header", name=name, member=member, detail=str(exc)) from None
    return Header(
        descr=str(entries["descr"]),
        fortran_order=bool(entries["fortran_order"]),
        shape=tuple(entries["shape"]),  # type: ignore[arg-type]
        data_offset=start + length,
    )


def check_not_pickled(header: Header, name: str, member: str) -> None:
    """array.dtype.pickle: object arrays would need pickle, which is never enabled."""
    if header.descr[1:2] == "O":
        raise CheckpointError("array.dtype.pickle", name=name, member=member)


def check_accepted_dtype(header: Header, name: str, member: str) -> None:
    """array.dtype: the descr is one the spec widens to float64."""
    if header.descr not in ACCEPTED_DTYPES:
        raise CheckpointError("array.dtype", name=name, member=member, descr=header.descr)


def check_data_length(size: int, header: Header, name: str, member: str) -> None:
    """array.data.length: exactly the bytes the shape needs in a member of ``size`` bytes,
    compared before allocating."""
    expected = math.prod(header.shape) * int(header.descr[2:])
    got = size - header.data_offset
    if got != expected:
        raise CheckpointError("array.data.length", name=name, member=member, got=got, expected=expected)


def header_bytes(rows: int, cols: int) -> bytes:
    """The spec's writer header (``save.writer.npy_header``): version 1.0, ``<f8``, C order,
    padded with spaces so that the data starts at a multiple of 64 bytes, as numpy writes it."""
    text = f"{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}"
    unpadded = len(MAGIC) + 2 + 2 + len(text) + 1
    text += " " * (-unpadded % 64) + "\n"
    return MAGIC + b"\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin-1")


class StreamDecoder:
    """One member's ``.npy`` bytes as they arrive: the header prefix is kept until it can be
    judged (array.npy.magic, array.npy.header), then the data goes straight into the float64
    matrix, converted chunk by chunk.

    The matrix is allocated only once the header has parsed, its descr is an accepted dtype and
    the shape's byte count equals the member's declared size after the header (which the file's
    bytes bound, archive.member_integrity); otherwise the data is dropped and the loader reports
    the first failing check in spec order. The header prefix grows with the bytes that arrive,
    never from a declared length.
    """

    def __init__(self, name: str, member: str, size: int) -> None:
        self.name, self.member, self.size = name, member, size
        self.magic_error: CheckpointError | None = None
        self.header_error: CheckpointError | None = None
        self.header: Header | None = None
        self.matrix: npt.NDArray[np.float64] | None = None
        self._head = bytearray()
        self._judged = False
        self._target: npt.NDArray[np.float64] | None = None  # the matrix in the data's order
        self._raw: memoryview | None = None  # the matrix's bytes, when the data is <f8 in C order
        self._dtype = np.dtype(np.float64)
        self._position = 0  # data bytes received
        self._partial = b""  # the first bytes of a value split between two chunks

    def _head_needs(self) -> int:
        """How long the prefix must be to judge the header, as far as its bytes tell."""
        head = self._head
        # The magic itself is left to check_magic: a reader without that check parses on.
        if len(head) < 8 or (head[6], head[7]) not in _VERSIONS:
            return 8
        length_format = _VERSIONS[(head[6], head[7])][0]
        start = 8 + struct.calcsize(length_format)
        if len(head) < start:
            return start
        return start + int(struct.unpack_from(length_format, head, 8)[0])

    def write(self, data: bytes | memoryview) -> None:
        """The member's next uncompressed bytes."""
        view = memoryview(data).cast("B")
        while not self._judged and view:
            missing = min(self._head_needs(), self.size) - len(self._head)
            self._head += view[: max(missing, 0)]
            view = view[max(missing, 0) :]
            if len(self._head) >= min(self._head_needs(), self.size):
                self._judge()
        if view and self._target is not None:
            self._put(view)

    def finish(self) -> None:
        """The member ended (a short member is judged on what it has)."""
        if not self._judged:
            self._judge()

    def direct(self, limit: int) -> memoryview | None:
        """Where the next ``limit`` bytes (at most) may be read in place, or None."""
        if self._raw is None:
            return None
        return self._raw[self._position : self._position + limit]

    def advance(self, count: int) -> None:
        """``count`` bytes were read in place into the view :meth:`direct` gave."""
        self._position += count

    def _judge(self) -> None:
        self._judged = True
        head = bytes(self._head)
        try:
            check_magic(head, self.name, self.member)
        except CheckpointError as error:
            self.magic_error = error
            return
        try:
            header = parse_header(head, self.size, self.name, self.member)
        except CheckpointError as error:
            self.header_error = error
            return
        self.header = header
        if header.descr not in ACCEPTED_DTYPES:
            return
        try:
            check_data_length(self.size, header, self.name, self.member)
        except CheckpointError:
            return
        self.matrix = np.empty(header.shape, dtype=np.float64)
        # Fortran order is C order of the reversed shape: write through the transposed view.
        self._target = self.matrix.T if header.fortran_order else self.matrix
        self._dtype = np.dtype(header.descr)
        if header.descr == "<f8" and not header.fortran_order:
            self._raw = self.matrix.reshape(-1).view(np.uint8).data

    def _put(self, view: memoryview) -> None:
        if self._raw is not None:
            count = min(len(view), len(self._raw) - self._position)
            self._raw[self._position : self._position + count] = view[:count]
            self._position += count
            return
        itemsize = self._dtype.itemsize
        if self._partial:
            take = itemsize - len(self._partial)
            self._partial += bytes(view[:take])
            view = view[take:]
            if len(self._partial) == itemsize:
                self._convert(memoryview(self._partial))
                self._partial = b""
        whole = len(view) - len(view) % itemsize
        if whole:
            self._convert(view[:whole])
        self._partial += bytes(view[whole:])

    def _convert(self, view: memoryview) -> None:
        """Whole values, widened into the matrix at the next positions in the data's order."""
        assert self._target is not None
        values = np.frombuffer(view, dtype=self._dtype)
        start = self._position // self._dtype.itemsize
        values = values[: max(self._target.size - start, 0)]  # a member longer than declared
        _put_flat(self._target, start, values)
        self._position += len(values) * self._dtype.itemsize


def _put_flat(target: npt.NDArray[np.float64], start: int, values: npt.NDArray[Any]) -> None:
    """Assign ``values`` to ``target``'s elements ``start...`` in C order (``target`` may be a
    transposed view, whose flat iterator walks it in place)."""
    if target.flags.c_contiguous:
        target.reshape(-1)[start : start + len(values)] = values
    else:
        target.flat[start : start + len(values)] = values
