"""The in-memory checkpoint (SNNCheckpoint): construction from host values, loading from a
BASE.json / BASE.npz pair, saving one, and the observable state the testee reports.

Construct and load raise the first violated invariant of their surface in spec order; the
checks themselves live in the modules of their phase (json, fields, zip, npy). Saving validates
the construct invariants again, then writes each file atomically through libc (the standard
library has no fsync, rename or exclusive create).
"""

from std.ffi import external_call
from std.os import makedirs
from std.os.path import isfile

from errors import CheckpointError, JSON_FILE_PRESENT, ARCHIVE_FILE_PRESENT, ARCHIVE_DIGEST
from fields import Fields, LOAD, check_fields, check_state, check_checkpoint, sorted_unique
from json import Tree, K_OBJECT, parse_document
from json_write import write_value, write_string, write_document
from npy import LayerDecoders, header_bytes
from sha256 import Sha256, sha256_hex_float64, float64_bytes
from zip import (
    ArchiveFile, ByteSink, ArchiveWriter, ZipEntry, STORED, DEFLATED, DEFAULT_LEVEL, CHUNK, c_string,
    check_integrity, layer_entries, layer_member_name, stream_members,
)


# ===----------------------------------------------------------------------=== #
# The checkpoint
# ===----------------------------------------------------------------------=== #


struct Checkpoint(Copyable, Movable):
    """Weights (row-major float64, one matrix per layer) and the layer bookkeeping."""

    var weights: List[List[Float64]]
    var layer_names: List[String]
    var inputs: List[Int]
    var outputs: List[Int]
    var neuron_types: List[String]
    # The metadata object is node `metadata_root` of `metadata`.
    var metadata: Tree
    var metadata_root: Int
    # Sorted by UTF-8 bytes, unique.
    var frozen_layers: List[String]

    # ===------------------------------------------------------------------=== #
    # Life cycle
    # ===------------------------------------------------------------------=== #

    def __init__(out self):
        self.weights = List[List[Float64]]()
        self.layer_names = List[String]()
        self.inputs = List[Int]()
        self.outputs = List[Int]()
        self.neuron_types = List[String]()
        self.metadata = Tree()
        self.metadata_root = self.metadata.add_container(K_OBJECT)
        self.frozen_layers = List[String]()

    def __init__(
        out self, fields: Fields, var weights: List[List[Float64]], var values: Tree
    ):
        """From validated fields; the metadata is node fields.metadata_root of `values` (an
        empty object when that is -1)."""
        self.metadata_root = fields.metadata_root
        self.weights = weights^
        self.layer_names = fields.layer_names.copy()
        self.inputs = fields.inputs.copy()
        self.outputs = fields.outputs.copy()
        self.neuron_types = fields.neuron_types.copy()
        self.frozen_layers = fields.frozen_layers.copy()
        self.metadata = values^
        if self.metadata_root < 0:
            self.metadata = Tree()
            self.metadata_root = self.metadata.add_container(K_OBJECT)

    # ===------------------------------------------------------------------=== #
    # Methods
    # ===------------------------------------------------------------------=== #

    def n_layers(self) -> Int:
        return len(self.layer_names)

    def total_params(self) -> Int:
        var total = 0
        for i in range(len(self.inputs)):
            total += self.inputs[i] * self.outputs[i]
        return total

    def layer_index(self, name: String) -> Int:
        for i in range(len(self.layer_names)):
            if self.layer_names[i] == name:
                return i
        return -1

    def add_frozen(mut self, names: List[String]):
        var all = self.frozen_layers.copy()
        for name in names:
            all.append(name)
        self.frozen_layers = sorted_unique(all)

    def is_frozen(self, name: String) -> Bool:
        for f in self.frozen_layers:
            if f == name:
                return True
        return False

    def write_state(self, mut out: String, extra_key: String = "", extra: String = ""):
        """The protocol's observable state as a JSON object; `extra` is a raw JSON member."""
        out += '{"n_layers": '
        out += String(self.n_layers())
        out += ', "total_params": '
        out += String(self.total_params())
        out += ', "layer_names": '
        _write_strings(out, self.layer_names)
        out += ', "layer_sizes": ['
        for i in range(len(self.inputs)):
            if i > 0:
                out += ", "
            out += String("[", self.inputs[i], ", ", self.outputs[i], "]")
        out += '], "neuron_types": '
        _write_strings(out, self.neuron_types)
        out += ', "frozen_layers": '
        _write_strings(out, self.frozen_layers)
        out += ', "metadata": '
        write_value(out, self.metadata, self.metadata_root)
        out += ', "weight_sha256": ['
        for i in range(len(self.weights)):
            if i > 0:
                out += ", "
            out += '"'
            out += sha256_hex_float64(self.weights[i])
            out += '"'
        out += "]"
        if extra_key:
            out += ", "
            write_string(out, extra_key)
            out += ": "
            out += extra
        out += "}"


def _write_strings(mut out: String, items: List[String]):
    out += "["
    for i in range(len(items)):
        if i > 0:
            out += ", "
        write_string(out, items[i])
    out += "]"


# ===----------------------------------------------------------------------=== #
# Load and construct
# ===----------------------------------------------------------------------=== #


def load_checkpoint(base: String) raises CheckpointError -> Checkpoint:
    """Read BASE.json and BASE.npz (suffixes appended, nothing stripped).

    Raises:
        CheckpointError: The first violated invariant of the load surface, in spec order.
    """
    var json_path = base + ".json"
    var npz_path = base + ".npz"
    # json
    var text = _read_file(json_path, JSON_FILE_PRESENT, "metadata file")
    var document = parse_document(Span(text), json_path)
    # schema, checkpoint
    var fields = check_fields(document, document.root, LOAD, json_path)
    # archive, then array: the directory first, then one pass over the file
    var file = _open_archive(npz_path)
    var hash = fields.archive_sha256.byte_length() > 0
    var entries: List[ZipEntry]
    try:
        entries = layer_entries(file, fields.layer_names)
    except err:
        # archive.digest comes first in spec order: the whole file is hashed before the
        # directory's own violation is reported.
        if hash:
            var nothing = LayerDecoders([], [], [], [])
            _check_digest(stream_members(file, [], nothing, True).digest, fields.archive_sha256,
                          npz_path)
        raise err^
    var sizes = List[Int]()
    for ref entry in entries:
        sizes.append(entry.uncompressed_size)
    var decoders = LayerDecoders(fields.layer_names, fields.inputs, fields.outputs, sizes)
    var result = stream_members(file, entries, decoders, hash)
    _check_digest(result.digest, fields.archive_sha256, npz_path)
    check_integrity(entries, result.problems, npz_path)
    var weights = decoders.finish()
    return Checkpoint(fields, weights^, document^)


def construct_checkpoint(values: Tree, state: Int) raises CheckpointError -> Checkpoint:
    """The SNNCheckpoint constructor over decoded host values (hostvalue.mojo).

    `state` is an object node with weights, layer_names, layer_sizes and optionally
    neuron_types, metadata, frozen_layers.

    Raises:
        CheckpointError: The first violated invariant of the construct surface, in spec order.
    """
    var fields = check_state(values, state)
    var weights = List[List[Float64]]()
    swap(weights, fields.weights)
    var metadata = values.copy() if fields.metadata_root >= 0 else Tree()
    return Checkpoint(fields, weights^, metadata^)


def _read_file(path: String, code: String, what: String) raises CheckpointError -> List[UInt8]:
    if not isfile(path):
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path))
    try:
        with open(path, "r") as f:
            return f.read_bytes()
    except e:
        raise CheckpointError(code, String("Checkpoint ", what, " not found: ", path, " (", e, ")"))


def _open_archive(path: String) raises CheckpointError -> ArchiveFile:
    if not isfile(path):
        raise CheckpointError(ARCHIVE_FILE_PRESENT, String("Checkpoint weight archive not found: ",
                                                           path))
    try:
        return ArchiveFile(path)
    except e:
        raise CheckpointError(ARCHIVE_FILE_PRESENT, String(
            "Checkpoint weight archive not found: ", path, " (", e, ")"))


def _check_digest(actual: String, recorded: String, path: String) raises CheckpointError:
    """archive.digest: when the document records the archive's SHA-256, the archive has it."""
    if recorded and actual != recorded:
        raise CheckpointError(ARCHIVE_DIGEST, String(
            "Checkpoint archive does not match its metadata (torn pair: archive_sha256 differs): ",
            path))


# ===----------------------------------------------------------------------=== #
# Save
# ===----------------------------------------------------------------------=== #


@fieldwise_init
struct SaveError(Copyable, Movable, Writable):
    """Why save_checkpoint did not save.

    Either the checkpoint violates a construct invariant (`code` is its ID; nothing was
    written, not even a folder), or the compression is unknown or a file operation failed
    (`code` is ""; any temporary file was removed, the previous files are as they were).
    """

    var code: String
    var message: String

    def write_to(self, mut writer: Some[Writer]):
        writer.write(self.message)
        if self.code:
            writer.write(" [", self.code, "]")


def save_checkpoint(
    checkpoint: Checkpoint, base: String, compression: String = "deflate",
    level: Int = DEFAULT_LEVEL,
) raises SaveError:
    """Write BASE.npz and BASE.json (suffixes appended, nothing stripped), creating BASE's
    parent folders: the spec's save.writer rules, the document recording the archive's SHA-256
    (archive_sha256). Members are streamed to the temporary file.

    `compression` is "deflate" (one raw deflate stream per member, zlib level `level`, 1-9,
    1 fastest) or "stored" (byte-identical across conforming writers).

    Durability, one fsync per file and one of the folder: both temporary files are written and
    fsynced, then renamed (archive first), then the folder fsynced. A crash leaves the old
    pair, the new pair, or the new archive beside the old document (archive.digest).

    Raises:
        SaveError: An unknown compression or level (nothing written), the first violated
            construct invariant (nothing written), or a failed file operation.
    """
    if compression != "deflate" and compression != "stored":
        raise SaveError("", String("compression must be 'deflate' or 'stored', not '",
                                   compression, "'"))
    if level < 1 or level > 9:
        raise SaveError("", String("level must be an integer from 1 to 9, not ", level))
    ref cp = checkpoint
    try:
        check_checkpoint(cp.layer_names, cp.inputs, cp.outputs, cp.neuron_types,
                         cp.frozen_layers, cp.metadata, cp.metadata_root, cp.weights)
    except err:
        raise SaveError(err.code, err.message)
    try:
        var archive_path = base + ".npz"
        makedirs(_folder_of(archive_path), exist_ok=True)
        var archive = _AtomicFile(archive_path)
        _write_archive(cp, archive, DEFLATED if compression == "deflate" else STORED, level)
        var digest = archive.digest()
        archive.sync()
        var document = String()
        write_document(document, cp.layer_names, cp.inputs, cp.outputs, cp.neuron_types,
                       sorted_unique(cp.frozen_layers), cp.metadata, cp.metadata_root, digest)
        var metadata = _AtomicFile(base + ".json")
        metadata.put(document.as_bytes())
        metadata.sync()
        archive.rename()
        metadata.rename()
        _sync_folder(_folder_of(archive_path))
    except err:
        raise SaveError("", String(err))


def _write_archive(cp: Checkpoint, mut file: _AtomicFile, method: Int, level: Int) raises:
    var archive = ArchiveWriter(method, level)
    for i in range(len(cp.weights)):
        archive.add(file, layer_member_name(i), Span(header_bytes(cp.outputs[i], cp.inputs[i])),
                    float64_bytes(cp.weights[i]))
    archive.close(file)


def _folder_of(path: String) -> String:
    """The folder a path's file lies in (Python's Path.parent): "." for a bare name."""
    var slash = path.rfind("/")
    if slash < 0:
        return String(".")
    return String(path[byte=0 : max(slash, 1)])


def _os_error(what: String, path: String) -> Error:
    """An Error naming the failed call, the file and errno's text (read right after the call)."""
    var code = external_call["__errno_location", Pointer[Int32, MutAnyOrigin]]()[]
    var text = external_call["strerror", Pointer[UInt8, ImmutAnyOrigin]](code)
    return Error(String(what, " failed for ", path, ": ", String(unsafe_from_utf8_ptr=text)))


struct _AtomicFile(ByteSink):
    """A temporary file ".NAME.<random>.tmp" beside `path` that becomes `path` when renamed
    (after sync). Destroyed before that, e.g. when an error passes, it removes the temporary
    file, so `path` keeps its previous content.

    Its SHA-256 is computed as it is written: final bytes from the caller's memory right after
    their write (a stored member's matrix is not read back), held bytes (a deflated member,
    whose local header is patched afterwards) read back from the file when they settle."""

    var path: String
    var temporary: String
    var fd: Int32
    var renamed: Bool
    var hasher: Sha256
    var hashed: Int  # bytes [0, hashed) are in the hash
    var length: Int  # bytes put
    var held: Bool

    def __init__(out self, path: String) raises:
        self.path = path
        var folder = _folder_of(path)
        var name = String(path[byte = path.rfind("/") + 1 :])
        # mkstemps replaces the XXXXXX with random characters and creates the file exclusively.
        var template = c_string(String(folder, "/.", name, ".XXXXXX.tmp"))
        var fd = external_call["mkstemps", Int32](template.unsafe_ptr(), Int32(4))
        if fd < 0:
            raise _os_error("creating a temporary file", folder)
        var temporary = String(unsafe_from_utf8=Span(template)[0 : len(template) - 1])
        self.fd = fd
        self.temporary = temporary^
        self.renamed = False
        self.hasher = Sha256()
        self.hashed = 0
        self.length = 0
        self.held = False

    def put(mut self, data: Span[UInt8, _]) raises:
        # At most CHUNK per write, each piece hashed right after it (still in cache): one write
        # of a 256 MiB layer ran at a third of the speed here (the reference measured its stored
        # 512 MiB save at 1.9-2.3 s that way against 0.6-0.7 s in 1 MiB writes).
        var start = 0
        while start < len(data):
            var piece = data[start : min(start + CHUNK, len(data))]
            var done = 0
            while done < len(piece):
                var at = piece.unsafe_ptr().unsafe_offset(done)
                var wrote = external_call["write", Int](self.fd, at, len(piece) - done)
                if wrote < 0:
                    raise _os_error("write", self.temporary)
                done += wrote
            if len(piece) == CHUNK:
                # Start writing it to disk now (SYNC_FILE_RANGE_WRITE, a hint: fsync still
                # decides), so that the disk works while the next pieces are written and hashed.
                _ = external_call["sync_file_range", Int32](
                    self.fd, self.length + start, len(piece), UInt32(2)
                )
            if not self.held:
                self.hasher.update(piece)
                self.hashed = self.length + start + len(piece)
            start += len(piece)
        self.length += len(data)

    def put_at(mut self, offset: Int, data: Span[UInt8, _]) raises:
        if offset < self.hashed:
            raise Error("patching bytes already hashed in ", self.temporary)
        var done = 0
        while done < len(data):
            var at = data.unsafe_ptr().unsafe_offset(done)
            var wrote = external_call["pwrite64", Int](self.fd, at, len(data) - done, offset + done)
            if wrote < 0:
                raise _os_error("pwrite", self.temporary)
            done += wrote

    def cut(mut self, length: Int) raises:
        if (external_call["ftruncate64", Int32](self.fd, length) != 0
                or external_call["lseek64", Int](self.fd, length, Int32(0)) != length):
            raise _os_error("ftruncate", self.temporary)
        self.length = length

    def hold(mut self):
        self.held = True

    def settle(mut self) raises:
        var piece = List[UInt8](unsafe_uninit_length=CHUNK)
        while self.hashed < self.length:
            var n = min(CHUNK, self.length - self.hashed)
            var got = external_call["pread64", Int](self.fd, piece.unsafe_ptr(), n, self.hashed)
            if got <= 0:
                raise _os_error("pread", self.temporary)
            self.hasher.update(Span(piece)[0:got])
            self.hashed += got
        self.held = False

    def digest(mut self) raises -> String:
        """The lowercase hex SHA-256 of the bytes put; ends the computation."""
        self.settle()
        return self.hasher.hexdigest()

    def sync(mut self) raises:
        """Flush the file to disk and close it."""
        if external_call["fsync", Int32](self.fd) != 0:
            raise _os_error("fsync", self.temporary)
        var fd = self.fd
        self.fd = -1
        if external_call["close", Int32](fd) != 0:
            raise _os_error("close", self.temporary)

    def rename(mut self) raises:
        """Rename the synced file over `path` (the caller fsyncs the folder)."""
        var source = c_string(self.temporary)
        var target = c_string(self.path)
        if external_call["rename", Int32](source.unsafe_ptr(), target.unsafe_ptr()) != 0:
            raise _os_error("rename", self.path)
        self.renamed = True

    def __deinit__(deinit self):
        if self.fd >= 0:
            _ = external_call["close", Int32](self.fd)
        if not self.renamed:
            var name = c_string(self.temporary)
            _ = external_call["unlink", Int32](name.unsafe_ptr())


def _sync_folder(folder: String) raises:
    var name = c_string(folder)
    # O_RDONLY. "open64": the standard library declares "open" with another signature.
    var fd = external_call["open64", Int32](name.unsafe_ptr(), Int32(0), Int32(0))
    if fd < 0:
        raise _os_error("opening the folder", folder)
    var rc = external_call["fsync", Int32](fd)
    _ = external_call["close", Int32](fd)
    if rc != 0:
        raise _os_error("fsync", folder)
