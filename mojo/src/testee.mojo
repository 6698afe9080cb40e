"""The Mojo testee: docs/protocol.md (JSON Lines) on standard input and output.

stdin is read with read(2) on fd 0 and split into lines here: Mojo's input() stops after the
first line of piped input, and file reads block until a full buffer arrives.
"""

from std.ffi import external_call
from std.os.path import getsize
from std.time import perf_counter_ns

from checkpoint import Checkpoint, SaveError, load_checkpoint, construct_checkpoint, save_checkpoint
from errors import CheckpointError
from fine_tune import transfer_config, apply_transfer_config, freeze_layers, unfreeze_layers
from hostvalue import decode, DecodeError
from json import Tree, K_STRING, K_INT, K_OBJECT, K_ARRAY, K_BOOL, parse_message
from json_write import write_float, write_string, write_value
from sha256 import sha256_file
from zip import DEFAULT_LEVEL

comptime VERSION = "0.1.0"
comptime RUNTIME = "mojo 1.2.0"
# Decoding and writing requests recurse; this keeps them far from the stack's limit (the
# reference's own JSON reader stops near 1,000 levels).
comptime MAX_REQUEST_DEPTH = 2000


def _emit(line: String):
    var bytes = line.as_bytes()
    var done = 0
    while done < len(bytes):
        var wrote = external_call["write", Int](Int32(1), bytes[done:].unsafe_ptr(), len(bytes) - done)
        if wrote <= 0:
            return
        done += wrote
    var newline: List[UInt8] = [0x0A]
    _ = external_call["write", Int](Int32(1), newline.unsafe_ptr(), 1)


def _hello() -> String:
    return String(
        '{"implementation": "mojo", "version": "', VERSION, '", "runtime": "', RUNTIME,
        '", "spec_version": 2, "protocol": 1, "capabilities": ["load", "construct", ',
        '"freeze_layers", "unfreeze_layers", "transfer_config", "apply_transfer_config", "save", ',
        '"timing"]}',
    )


def _text(tree: Tree, index: Int) -> String:
    if index >= 0 and tree.kind(index) == K_STRING:
        return tree.nodes[index].text
    return String()


struct _Failure(Copyable, Movable):
    """An `errored` answer: the testee itself failed (a bug or a malformed request)."""

    var message: String
    var context: String

    def __init__(out self, message: String, context: String):
        self.message = message
        self.context = context


def _run_case(values: Tree, case_node: Int, timing: Bool, mut results: String) raises _Failure:
    """Execute the case's operations, appending one JSON result per executed operation; with
    `timing`, each result's "seconds": the operation's own wall time (monotonic clock), not
    the reported state's weight digests nor the answer's encoding."""
    var root = _text(values, values.get(case_node, "root"))
    var ops = values.get(case_node, "ops")
    if ops < 0 or values.kind(ops) != K_ARRAY:
        raise _Failure("the case has no ops array", "run")
    var cp = Checkpoint()
    var have = False
    for i in range(values.length(ops)):
        var op = values.child(ops, i)
        var name = _operation(values, op, i, have)
        if i > 0:
            results += ", "
        results += '{"op": '
        write_string(results, name)
        var body = String()
        var rejected = CheckpointError("", "")
        var start = perf_counter_ns()
        var seconds = 0.0
        if name == "save":
            try:
                body = _save(cp, values, op, seconds)
            except err:
                if not err.code:
                    raise _Failure(err.message, name)
                rejected = CheckpointError(err.code, err.message)
        else:
            try:
                body = _execute(cp, values, op, name, root, seconds)
                have = have or name == "load" or name == "construct"
            except err:
                rejected = err^
        if rejected.code:
            seconds = _since(start)
            results += ', "verdict": "reject", "code": '
            write_string(results, rejected.code)
            results += ', "message": '
            write_string(results, rejected.message)
        else:
            results += body
        if timing:
            results += ', "seconds": '
            write_float(results, seconds)
        results += "}"
        if rejected.code:
            return


def _operation(values: Tree, op: Int, i: Int, have: Bool) raises _Failure -> String:
    """The name of operation `i`, when the request can run it at all."""
    if values.kind(op) != K_OBJECT:
        raise _Failure(String("operation ", i, " is not an object"), "run")
    var name = _text(values, values.get(op, "op"))
    var state = values.get(op, "state")
    if name == "construct" and (state < 0 or values.kind(state) != K_OBJECT):
        raise _Failure("construct needs a state object", name)
    if (name == "freeze_layers" or name == "unfreeze_layers"
            or name == "apply_transfer_config") and not have:
        raise _Failure(String(name, " before any load or construct"), name)
    if name == "save" and not have and (state < 0 or values.kind(state) != K_OBJECT):
        raise _Failure("save needs a checkpoint or a state object", name)
    if (name != "load" and name != "construct" and name != "transfer_config"
            and name != "freeze_layers" and name != "unfreeze_layers"
            and name != "apply_transfer_config" and name != "save"):
        raise _Failure(String("unsupported operation ", name), "run")
    return name


def _save(cp: Checkpoint, values: Tree, op: Int, mut seconds: Float64) raises SaveError -> String:
    """`save`: the current checkpoint, or the op's `state`, to `out`, with the op's
    `compression` and `level`; the accepted result's members after "op": the files' SHA-256
    and sizes as written. `seconds`: the time save_checkpoint took.

    Mojo's Checkpoint is typed, so a state cannot be held without checking its types: the
    state is constructed (the same construct invariants, in the same order) and the writer
    then validates the typed checkpoint again; either refusal writes nothing.
    """
    var out = _text(values, values.get(op, "out"))
    var compression = String("deflate")
    if values.get(op, "compression") >= 0:
        compression = _text(values, values.get(op, "compression"))
    var level = _level(values, values.get(op, "level"))
    var state = values.get(op, "state")
    var start: Int
    if state >= 0:
        var given: Checkpoint
        try:
            given = construct_checkpoint(values, state)
        except err:
            raise SaveError(err.code, err.message)
        start = perf_counter_ns()
        save_checkpoint(given, out, compression, level)
    else:
        start = perf_counter_ns()
        save_checkpoint(cp, out, compression, level)
    seconds = _since(start)
    var body = String(', "verdict": "accept", "saved": {"npz": ')
    _file_figures(body, out + ".npz")
    body += ', "json": '
    _file_figures(body, out + ".json")
    body += "}"
    return body^


def _level(values: Tree, node: Int) raises SaveError -> Int:
    """The save's `level` argument: absent, the default; else an integer from 1 to 9 (any other
    value or type is an argument error, as in the reference, before anything is written)."""
    if node < 0:
        return DEFAULT_LEVEL
    if values.kind(node) == K_INT:
        var level = values.nodes[node].as_int()
        if level >= 1 and level <= 9:
            return level
    raise SaveError("", "level must be an integer from 1 to 9")


def _file_figures(mut out: String, path: String) raises SaveError:
    """{"sha256": ..., "size": ...} of a file as it is on disk (read in pieces)."""
    try:
        out += String('{"sha256": "', sha256_file(path), '", "size": ', getsize(path), "}")
    except e:
        raise SaveError("", String("reading back ", path, ": ", e))


def _execute(
    mut cp: Checkpoint, values: Tree, op: Int, name: String, root: String, mut seconds: Float64
) raises CheckpointError -> String:
    """Run one operation other than save on `cp`; the accepted result's members after "op".
    `seconds`: the operation's time, before the state is reported."""
    var body = String()
    var start = perf_counter_ns()
    if name == "load":
        cp = load_checkpoint(root + "/" + _text(values, values.get(op, "base")))
        seconds = _since(start)
        cp.write_state(body)
    elif name == "construct":
        cp = construct_checkpoint(values, values.get(op, "state"))
        seconds = _since(start)
        cp.write_state(body)
    elif name == "transfer_config":
        var cfg = transfer_config(values, values.get(op, "config"))
        seconds = _since(start)
        cfg.write_json(body)
        return String(', "verdict": "accept", "config": ', body)
    elif name == "freeze_layers":
        freeze_layers(cp, values, values.get(op, "args"))
        seconds = _since(start)
        cp.write_state(body)
    elif name == "unfreeze_layers":
        unfreeze_layers(cp, values, values.get(op, "args"))
        seconds = _since(start)
        cp.write_state(body)
    else:
        var rates = apply_transfer_config(cp, values, values.get(op, "config"))
        seconds = _since(start)
        var listed = String("[")
        for k in range(len(rates)):
            if k > 0:
                listed += ", "
            write_float(listed, rates[k])
        listed += "]"
        cp.write_state(body, "learning_rates", listed)
    return String(', "verdict": "accept", "state": ', body)


def _since(start: Int) -> Float64:
    """Seconds on the monotonic clock since `start` (perf_counter_ns)."""
    return Float64(perf_counter_ns() - start) / 1e9


def _answer(line: Span[UInt8, _]) -> Tuple[String, Bool]:
    """The answer line for one request, and whether to stop."""
    var request: Tree
    try:
        request = parse_message(line)
    except err:
        return (String('{"errored": {"message": ', _quoted(err.message), ', "context": "request"}}'),
                False)
    var root = request.root
    if request.kind(root) != K_OBJECT:
        return (String('{"errored": {"message": "the request is not an object", "context": "request"}}'),
                False)
    var cmd = _text(request, request.get(root, "cmd"))
    if cmd == "hello":
        return (_hello(), False)
    if cmd == "stop":
        return (String('{"stopped": true}'), True)
    if cmd != "run":
        return (String('{"errored": {"message": ', _quoted(String("unknown command ", cmd)),
                       ', "context": "request"}}'), False)
    var head = String("{")
    var seq = request.get(root, "seq")
    if seq >= 0 and request.kind(seq) != K_ARRAY and request.kind(seq) != K_OBJECT:
        head += '"seq": '
        write_value(head, request, seq)
        head += ", "
    var case_node = request.get(root, "case")
    if case_node < 0:
        case_node = root
    head += '"id": '
    write_string(head, _text(request, request.get(case_node, "id")))
    if _depth(request) > MAX_REQUEST_DEPTH:
        return (String(head, ', "errored": {"message": "the request nests deeper than ',
                       MAX_REQUEST_DEPTH, ' levels", "context": "request"}}'), False)
    var values = Tree()
    var decoded: Int
    try:
        decoded = decode(request, case_node, values)
    except err:
        return (String(head, ', "errored": {"message": ', _quoted(err.message),
                       ', "context": "host-value decoding"}}'), False)
    values.root = decoded
    var results = String()
    var timing = request.get(root, "timing")
    try:
        _run_case(values, decoded, timing >= 0 and request.kind(timing) == K_BOOL
                  and request.nodes[timing].flag, results)
    except failure:
        return (String(head, ', "errored": {"message": ', _quoted(failure.message),
                       ', "context": ', _quoted(failure.context), "}}"), False)
    return (String(head, ', "results": [', results, "]}"), False)


def _depth(tree: Tree) -> Int:
    """The nesting depth of a parsed request, measured without recursion."""
    var deepest = 0
    var stack = List[Int]()
    var depths = List[Int]()
    stack.append(tree.root)
    depths.append(1)
    while len(stack) > 0:
        var index = stack.pop()
        var depth = depths.pop()
        if depth > deepest:
            deepest = depth
        for k in tree.nodes[index].kids:
            stack.append(k)
            depths.append(depth + 1)
    return deepest


def _quoted(text: String) -> String:
    var out = String()
    write_string(out, text)
    return out^


def main():
    var pending = List[UInt8]()
    var chunk = List[UInt8](length=65536, fill=0)
    var scanned = 0
    while True:
        var got = external_call["read", Int](Int32(0), chunk.unsafe_ptr(), len(chunk))
        if got <= 0:
            break
        pending.extend(Span(chunk)[0:got])
        var start = 0
        var i = scanned
        while i < len(pending):
            if pending[i] == 0x0A:
                var end = i
                if end > start and pending[end - 1] == 0x0D:
                    end -= 1
                if end > start:
                    var answer = _answer(Span(pending)[start:end])
                    _emit(answer[0])
                    if answer[1]:
                        return
                start = i + 1
            i += 1
        if start > 0:
            var rest = List[UInt8](capacity=len(pending) - start)
            rest.extend(Span(pending)[start:len(pending)])
            pending = rest^
        scanned = len(pending)
