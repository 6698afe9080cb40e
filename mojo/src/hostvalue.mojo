"""The protocol's host-value encoding, decoded into the value tree the constructor judges.

Plain JSON values stand for themselves; an object with exactly one key starting with "$" is a
tag ($float, $array, $tuple, $set, $bytes, $map, $object). Mojo has no sets, tuples of any
length, byte strings or opaque objects among JSON-like values, so they become tree kinds
(K_SET, K_TUPLE, ...) that the constructor refuses where the spec does.
"""

from json import (
    Tree,
    Node,
    K_NULL,
    K_BOOL,
    K_INT,
    K_FLOAT,
    K_STRING,
    K_ARRAY,
    K_OBJECT,
    K_TUPLE,
    K_SET,
    K_BYTES,
    K_MAP,
    K_OPAQUE,
    K_NDARRAY,
)


@fieldwise_init
struct DecodeError(Copyable, Movable, Writable):
    """A request that does not follow the host-value encoding (a harness bug, not a verdict)."""

    var message: String

    def write_to(self, mut writer: Some[Writer]):
        writer.write(self.message)


def _float_tag(text: String) raises DecodeError -> Float64:
    if text == "NaN":
        return Float64.MAX * 2.0 - Float64.MAX * 2.0
    if text == "Infinity":
        return Float64.MAX * 2.0
    if text == "-Infinity":
        return -Float64.MAX * 2.0
    raise DecodeError(String("unknown $float value ", text))


def _tag_of(src: Tree, index: Int) -> String:
    ref node = src.nodes[index]
    if node.kind == K_OBJECT and len(node.keys) == 1 and node.keys[0].startswith("$"):
        return node.keys[0]
    return String()


def decode(src: Tree, index: Int, mut out: Tree) raises DecodeError -> Int:
    """Decode node `index` of the request tree `src` into `out`; return the new node's index."""
    var kind = src.kind(index)
    if kind != K_ARRAY and kind != K_OBJECT:
        return out.add(src.nodes[index].copy())
    if kind == K_ARRAY:
        var items = List[Int]()
        for i in range(src.length(index)):
            items.append(decode(src, src.child(index, i), out))
        var node = Node.of(K_ARRAY)
        node.kids = items^
        return out.add(node^)
    var tag = _tag_of(src, index)
    if not tag:
        var node = Node.of(K_OBJECT)
        for i in range(src.length(index)):
            node.keys.append(src.nodes[index].keys[i])
            node.kids.append(decode(src, src.child(index, i), out))
        return out.add(node^)
    var body = src.child(index, 0)
    var body_kind = src.kind(body)
    if tag == "$float":
        if body_kind != K_STRING:
            raise DecodeError("$float takes a string")
        return out.add_float(_float_tag(src.nodes[body].text))
    if tag == "$tuple" or tag == "$set":
        if body_kind != K_ARRAY:
            raise DecodeError(String(tag, " takes an array"))
        var node = Node.of(K_TUPLE if tag == "$tuple" else K_SET)
        for i in range(src.length(body)):
            node.kids.append(decode(src, src.child(body, i), out))
        return out.add(node^)
    if tag == "$bytes" or tag == "$object":
        if body_kind != K_STRING:
            raise DecodeError(String(tag, " takes a string"))
        var node = Node.of(K_BYTES if tag == "$bytes" else K_OPAQUE)
        node.text = src.nodes[body].text
        return out.add(node^)
    if tag == "$map":
        if body_kind != K_ARRAY:
            raise DecodeError("$map takes an array of pairs")
        return _decode_map(src, body, out)
    if tag == "$array":
        if body_kind != K_OBJECT:
            raise DecodeError("$array takes an object with shape and data")
        return _decode_array(src, body, out)
    raise DecodeError(String("unknown tag ", tag))


def _decode_map(src: Tree, body: Int, mut out: Tree) raises DecodeError -> Int:
    """A $map's [key, value] pairs: a K_MAP, or an object when every key is a string."""
    var keys = List[Int]()
    var vals = List[Int]()
    var all_strings = True
    for i in range(src.length(body)):
        var pair = src.child(body, i)
        if src.kind(pair) != K_ARRAY or src.length(pair) != 2:
            raise DecodeError("$map takes an array of [key, value] pairs")
        var k = decode(src, src.child(pair, 0), out)
        if out.kind(k) != K_STRING:
            all_strings = False
        keys.append(k)
        vals.append(decode(src, src.child(pair, 1), out))
    # A mapping whose keys are all strings is just a dict (e.g. one with a "$" key).
    var node = Node.of(K_OBJECT if all_strings else K_MAP)
    for i in range(len(keys)):
        if all_strings:
            var key = out.nodes[keys[i]].text
            var replaced = False
            for j in range(len(node.keys)):
                if node.keys[j] == key:
                    node.kids[j] = vals[i]
                    replaced = True
            if not replaced:
                node.keys.append(key)
                node.kids.append(vals[i])
        else:
            node.kids.append(keys[i])
            node.kids.append(vals[i])
    return out.add(node^)


def _decode_array(src: Tree, body: Int, mut out: Tree) raises DecodeError -> Int:
    """An $array's shape and flat row-major data (numbers or $float tags)."""
    var shape_node = src.get(body, "shape")
    var data_node = src.get(body, "data")
    if shape_node < 0 or data_node < 0 or src.kind(shape_node) != K_ARRAY or src.kind(
        data_node
    ) != K_ARRAY:
        raise DecodeError("$array needs a shape array and a data array")
    var node = Node.of(K_NDARRAY)
    var count = 1
    for i in range(src.length(shape_node)):
        var d = src.child(shape_node, i)
        if src.kind(d) != K_INT or src.nodes[d].int_value < 0:
            raise DecodeError("$array shape holds a non-integer")
        var dim = src.nodes[d].as_int()
        node.shape.append(dim)
        # Saturate rather than overflow: the data list bounds any honest product.
        if dim != 0 and count > src.length(data_node) // dim + 1:
            count = src.length(data_node) + 1
        else:
            count *= dim
    if count != src.length(data_node):
        raise DecodeError("$array data length does not match its shape")
    for i in range(src.length(data_node)):
        var d = src.child(data_node, i)
        var dk = src.kind(d)
        if dk == K_INT or dk == K_FLOAT:
            node.data.append(src.nodes[d].float_value)
        elif _tag_of(src, d) == "$float" and src.kind(src.child(d, 0)) == K_STRING:
            node.data.append(_float_tag(src.nodes[src.child(d, 0)].text))
        else:
            raise DecodeError("$array data holds a non-number")
    return out.add(node^)
