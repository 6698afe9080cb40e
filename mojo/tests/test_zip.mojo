"""Tests for zip.mojo: the structure rules (archive.zip.structure), the layer members
(archive.members.*, archive.member.method), member integrity, and the writer."""

from std.testing import assert_equal, assert_true, TestSuite

from zip import (
    ArchiveFile, read_directory, crc32, layer_entries, ByteSink, ArchiveWriter, STORED, DEFLATED,
    _Written, _local_header, _central_entry, isal_level,
)
from support import (
    Member, stored, build_zip, zip_code, zip_members, members_of, write_temp, central_offset,
    put16, put32, bytes_of, from_hex,
)

# Raw deflate of b"hello hello hello hello" (23 bytes), CRC-32 0x8d3d51e3.
comptime HELLO_DEFLATE = "cb48cdc9c957c8402701"
comptime HELLO_CRC = 0x8D3D51E3


def _two() -> List[UInt8]:
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("first member")))
    members.append(stored("layer_1.npy", bytes_of("second")))
    return build_zip(members)


def _deflated(data: List[UInt8], plain_size: Int, crc: Int) -> List[UInt8]:
    var members = List[Member]()
    members.append(Member("layer_0.npy", data.copy(), plain_size, crc, 8))
    return build_zip(members)


def test_reads_stored_members() raises:
    var data = _two()
    var entries = read_directory(ArchiveFile(write_temp(data)))
    assert_equal(len(entries), 2)
    assert_equal(entries[1].display_name(), "layer_1.npy")
    var raw = zip_members(data)[0].copy()
    assert_equal(String(unsafe_from_utf8=Span(raw)), "first member")


def test_empty_archive_is_valid() raises:
    assert_equal(zip_code(build_zip(List[Member]())), "accept")


def test_end_record_must_end_the_file() raises:
    assert_equal(zip_code(List[UInt8]()), "archive.zip.structure")
    assert_equal(zip_code(bytes_of("this is not a zip file at all, no")), "archive.zip.structure")
    var data = _two()
    _ = data.pop()
    assert_equal(zip_code(data), "archive.zip.structure")
    data = _two()
    data.append(0)
    assert_equal(zip_code(data), "archive.zip.structure")
    # A comment whose length is declared ends the file exactly: fine.
    data = _two()
    put16(data, len(data) - 2, 3)
    data.extend(bytes_of("abc"))
    assert_equal(zip_code(data), "accept")


def test_single_disk_only() raises:
    var data = _two()
    put16(data, len(data) - 22 + 4, 1)
    assert_equal(zip_code(data), "archive.zip.structure")
    data = _two()
    put16(data, len(data) - 22 + 8, 1)
    assert_equal(zip_code(data), "archive.zip.structure")


def test_directory_bounds_and_count() raises:
    var data = _two()
    var end = len(data) - 22
    put32(data, end + 16, central_offset(data) + 1)
    assert_equal(zip_code(data), "archive.zip.structure")
    data = _two()
    put16(data, end + 8, 3)
    put16(data, end + 10, 3)
    assert_equal(zip_code(data), "archive.zip.structure")
    data = _two()
    put16(data, end + 8, 1)
    put16(data, end + 10, 1)
    assert_equal(zip_code(data), "archive.zip.structure")
    # A zip64 marker without a zip64 locator.
    data = _two()
    put32(data, end + 16, 0xFFFFFFFF)
    assert_equal(zip_code(data), "archive.zip.structure")


def test_local_headers() raises:
    var data = _two()
    data[0] = 0x51
    assert_equal(zip_code(data), "archive.zip.structure")
    data = _two()
    data[30] = 0x4C  # "Layer_0.npy" in the local header only
    assert_equal(zip_code(data), "archive.zip.structure")
    # Data running into the central directory: the last member claims more bytes.
    data = _two()
    var cd = central_offset(data)
    put32(data, cd + 46 + 11 + 20, 200)
    put32(data, cd + 46 + 11 + 24, 200)
    assert_equal(zip_code(data), "archive.zip.structure")


def test_overlapping_entries() raises:
    # Two entries with the same name; the second points at the first one's local header, so
    # every other rule holds and only the overlap is wrong.
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("abc")))
    members.append(stored("layer_0.npy", bytes_of("abc")))
    var data = build_zip(members)
    assert_equal(zip_code(data), "accept")
    var cd = central_offset(data)
    put32(data, cd + 46 + 11 + 42, 0)
    assert_equal(zip_code(data), "archive.zip.structure")


def test_stored_integrity() raises:
    var data = _two()
    var cd = central_offset(data)
    put32(data, cd + 16, 0x12345678)
    assert_equal(zip_code(data), "archive.member.integrity")
    data = _two()
    data[30 + 11] = 0x46  # flip a data byte
    assert_equal(zip_code(data), "archive.member.integrity")
    data = _two()
    put32(data, cd + 24, 11)  # uncompressed size != compressed size
    assert_equal(zip_code(data), "archive.member.integrity")


def test_deflate() raises:
    var raw = from_hex(HELLO_DEFLATE)
    var data = _deflated(raw, 23, HELLO_CRC)
    assert_equal(zip_code(data), "accept")
    var out = zip_members(data)[0].copy()
    assert_equal(String(unsafe_from_utf8=Span(out)), "hello hello hello hello")
    assert_equal(crc32(Span(out)), HELLO_CRC)


def _integrity_message(data: List[UInt8]) raises -> String:
    var file = ArchiveFile(write_temp(data))
    try:
        _ = members_of(file, read_directory(file))
    except e:
        return e.message
    return String()


def test_declared_size_beyond_what_deflate_makes_is_refused_before_inflating() raises:
    # 10 compressed bytes make at most 1032 * 10 bytes (+ 1 KiB of slack): a larger declared
    # size is member integrity at once, a size within the bound only after inflating.
    var raw = from_hex(HELLO_DEFLATE)
    var beyond = _integrity_message(_deflated(raw, 1032 * 10 + 1024 + 1, HELLO_CRC))
    assert_true("more than deflate makes" in beyond, beyond)
    var within = _integrity_message(_deflated(raw, 1032 * 10 + 1024, HELLO_CRC))
    assert_true("inflates to 23 bytes" in within, within)


def test_deflate_integrity() raises:
    var raw = from_hex(HELLO_DEFLATE)
    assert_equal(zip_code(_deflated(raw, 24, HELLO_CRC)), "archive.member.integrity")
    assert_equal(zip_code(_deflated(raw, 22, HELLO_CRC)), "archive.member.integrity")
    assert_equal(zip_code(_deflated(raw, 23, HELLO_CRC ^ 1)), "archive.member.integrity")
    var trailing = raw.copy()
    trailing.append(0)
    assert_equal(zip_code(_deflated(trailing, 23, HELLO_CRC)), "archive.member.integrity")
    var truncated = raw.copy()
    _ = truncated.pop()
    _ = truncated.pop()
    assert_equal(zip_code(_deflated(truncated, 23, HELLO_CRC)), "archive.member.integrity")
    assert_equal(zip_code(_deflated(bytes_of("garbage!!"), 23, HELLO_CRC)),
                 "archive.member.integrity")


def test_huge_declared_sizes_allocate_nothing() raises:
    # A directory that declares a 4 GiB member inflating from 10 bytes: refused by the cap,
    # not by running out of memory.
    var raw = from_hex(HELLO_DEFLATE)
    assert_equal(zip_code(_deflated(raw, 0xFFFFFFFE, HELLO_CRC)), "archive.member.integrity")
    var data = _two()
    var end = len(data) - 22
    put16(data, end + 8, 0xFFFE)
    put16(data, end + 10, 0xFFFE)
    assert_equal(zip_code(data), "archive.zip.structure")


def _zip64_usize(data: List[UInt8], usize: UInt64) -> List[UInt8]:
    """A one-member archive whose central entry declares `usize` through a zip64 extra field."""
    var cd = central_offset(data)
    var name_end = cd + 46 + (Int(data[cd + 28]) | (Int(data[cd + 29]) << 8))
    var out = List[UInt8]()
    out.extend(Span(data)[0:name_end])
    out.extend(Span(from_hex("01000800")))
    for k in range(8):
        out.append(UInt8((usize >> UInt64(8 * k)) & 0xFF))
    out.extend(Span(data)[name_end:])
    put32(out, cd + 24, 0xFFFFFFFF)
    put16(out, cd + 30, 12)
    put32(out, len(out) - 22 + 12, len(out) - 22 - cd)
    return out^


def test_zip64_sizes_up_to_2_64_are_member_integrity() raises:
    # A small stream declaring 2^63 - 1, 2^63 or 2^64 - 1 bytes inflates to fewer (spec ruling).
    var raw = from_hex(HELLO_DEFLATE)
    assert_equal(zip_code(_zip64_usize(_deflated(raw, 23, HELLO_CRC), 23)), "accept")
    var huge: List[UInt64] = [0x7FFFFFFFFFFFFFFF, 0x8000000000000000, 0xFFFFFFFFFFFFFFFF]
    for usize in huge:
        assert_equal(zip_code(_zip64_usize(_deflated(raw, 23, HELLO_CRC), usize)),
                     "archive.member.integrity", String(usize))


def test_two_entries_for_one_local_header_overlap() raises:
    # Same name, offset and sizes, different CRC-32s: the ranges overlap, whatever else differs.
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("abc")))
    members.append(stored("layer_0.npy", bytes_of("abc")))
    var data = build_zip(members)
    var cd = central_offset(data)
    put32(data, cd + 46 + 11 + 42, 0)
    put32(data, cd + 46 + 11 + 16, 0x12345678)
    assert_equal(zip_code(data), "archive.zip.structure")


def test_end_record_comment_up_to_65535_bytes() raises:
    var data = _two()
    put16(data, len(data) - 2, 65535)
    for _ in range(65535):
        data.append(0x20)
    assert_equal(zip_code(data), "accept")


def _members_code(data: List[UInt8], n_layers: Int) raises -> String:
    """The code of layer_members for layers l0, l1, ... (n_layers of them)."""
    var names = List[String]()
    for i in range(n_layers):
        names.append(String("l", i))
    var file = ArchiveFile(write_temp(data))
    try:
        _ = members_of(file, layer_entries(file, names))
        return "accept"
    except e:
        return e.code


def test_layer_members() raises:
    var members = List[Member]()
    members.append(stored("layer_1.npy", bytes_of("second")))
    members.append(stored("layer_0.npy", bytes_of("first")))
    var data = build_zip(members)
    var names: List[String] = ["a", "b"]
    var file = ArchiveFile(write_temp(data))
    var raws = members_of(file, layer_entries(file, names))
    # In layer order, whatever the archive's order.
    assert_equal(String(unsafe_from_utf8=Span(raws[0])), "first")
    assert_equal(String(unsafe_from_utf8=Span(raws[1])), "second")
    assert_equal(_members_code(data, 2), "accept")
    # layer_1.npy is no member of a one-layer checkpoint; a three-layer one misses layer_2.npy.
    assert_equal(_members_code(data, 1), "archive.members.unexpected")
    assert_equal(_members_code(data, 3), "archive.members.missing")
    assert_equal(_members_code(build_zip(List[Member]()), 0), "accept")


def test_member_names_are_exact() raises:
    var odd: List[String] = ["layer_00.npy", "layer_1", "layer_+1.npy", "Layer_1.npy", "layer_1.npy/"]
    for name in odd:
        var members = List[Member]()
        members.append(stored("layer_0.npy", bytes_of("x")))
        members.append(stored(name, bytes_of("y")))
        assert_equal(_members_code(build_zip(members), 2), "archive.members.unexpected", name)


def test_duplicate_members_come_first() raises:
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("x")))
    members.append(stored("stray", bytes_of("y")))
    members.append(stored("layer_0.npy", bytes_of("z")))
    assert_equal(_members_code(build_zip(members), 1), "archive.members.duplicate")


def test_member_names_compare_as_raw_bytes() raises:
    # b"x\xff" and b"x\xfe" read the same as lossy UTF-8 but are different names.
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("x")))
    members.append(stored(String(unsafe_from_utf8=from_hex("78ff")), bytes_of("y")))
    members.append(stored(String(unsafe_from_utf8=from_hex("78fe")), bytes_of("z")))
    assert_equal(_members_code(build_zip(members), 1), "archive.members.unexpected")
    members.append(stored(String(unsafe_from_utf8=from_hex("78fe")), bytes_of("z")))
    assert_equal(_members_code(build_zip(members), 1), "archive.members.duplicate")


# ===----------------------------------------------------------------------=== #
# The writer
# ===----------------------------------------------------------------------=== #


struct _Memory(ByteSink):
    """A sink that keeps the bytes."""

    var data: List[UInt8]

    def __init__(out self):
        self.data = List[UInt8]()

    def put(mut self, data: Span[UInt8, _]) raises:
        self.data.extend(data)

    def put_at(mut self, offset: Int, data: Span[UInt8, _]) raises:
        for k in range(len(data)):
            self.data[offset + k] = data[k]

    def cut(mut self, length: Int) raises:
        self.data.shrink(length)

    def hold(mut self):
        pass

    def settle(mut self) raises:
        pass


def _u16(data: List[UInt8], at: Int) -> Int:
    return Int(data[at]) | (Int(data[at + 1]) << 8)


def _u32(data: List[UInt8], at: Int) -> Int:
    return _u16(data, at) | (_u16(data, at + 2) << 16)


def _written(method: Int) raises -> List[UInt8]:
    var sink = _Memory()
    var archive = ArchiveWriter(method)
    var body = bytes_of("hello hello hello hello hello hello")
    archive.add(sink, "layer_0.npy", Span(bytes_of("head:")), Span(body))
    archive.add(sink, "layer_1.npy", Span(List[UInt8]()), Span(List[UInt8]()))
    archive.close(sink)
    return sink.data.copy()


def test_writer_round_trips_stored_and_deflated() raises:
    for method in [STORED, DEFLATED]:
        var data = _written(method)
        var entries = read_directory(ArchiveFile(write_temp(data)))
        assert_equal(len(entries), 2)
        assert_equal(entries[0].method, method)
        var members = zip_members(data)
        assert_equal(String(unsafe_from_utf8=Span(members[0])), "head:hello hello hello hello hello hello")
        assert_equal(len(members[1]), 0)
        # The local header was patched with the sizes and CRC-32 the directory holds.
        assert_equal(_u32(data, 14), entries[0].crc32)
        assert_equal(_u32(data, 18), entries[0].compressed_size)
        assert_equal(_u32(data, 22), entries[0].uncompressed_size)
        # Fixed fields: version 20, flags 0, time 0, date 1980-01-01, no extra field.
        assert_equal(_u16(data, 4), 20)
        assert_equal(_u16(data, 6), 0)
        assert_equal(_u16(data, 10), 0)
        assert_equal(_u16(data, 12), 0x21)
        assert_equal(_u16(data, 28), 0)
    assert_true(len(_written(DEFLATED)) < len(_written(STORED)))


def test_writer_empty_archive_is_one_end_record() raises:
    var sink = _Memory()
    var archive = ArchiveWriter(DEFLATED)
    archive.close(sink)
    assert_true(sink.data == from_hex("504b0506" + "00" * 18))


def test_writer_zip64_only_where_needed() raises:
    var small = _local_header(_Written("layer_0.npy", DEFLATED, 7, 10, 20, 0))
    assert_equal(len(small), 30 + 11)
    assert_equal(_u32(small, 18), 10)
    # Sizes of 4 GiB: both local sizes 0xFFFFFFFF, the extra field holds uncompressed then
    # compressed; the central entry adds the offset only when it overflows too.
    var big = _Written("layer_0.npy", DEFLATED, 7, 0x100000001, 0x100000002, 0x100000003)
    var local = _local_header(big)
    assert_equal(_u16(local, 4), 45)
    assert_equal(_u32(local, 18), 0xFFFFFFFF)
    assert_equal(_u32(local, 22), 0xFFFFFFFF)
    assert_equal(_u16(local, 28), 20)
    assert_equal(_u16(local, 41), 1)
    assert_equal(_u16(local, 43), 16)
    assert_equal(_u32(local, 45), 2)  # low word of 0x100000002
    var central = _central_entry(big)
    assert_equal(_u16(central, 4), 45)
    assert_equal(_u16(central, 30), 28)
    assert_equal(_u32(central, 42), 0xFFFFFFFF)
    assert_equal(_u32(central, 46 + 11 + 20), 3)  # the offset, third
    var only_offset = _central_entry(_Written("a", STORED, 0, 5, 5, 0x100000000))
    assert_equal(_u16(only_offset, 30), 12)
    assert_equal(_u32(only_offset, 20), 5)


def test_writer_zip64_end_record_for_many_members() raises:
    # 65,535 entries do not fit the end record's 0xFFFE-or-fewer rule: the zip64 end record
    # and locator come first, and the reader takes the count from them.
    var sink = _Memory()
    var archive = ArchiveWriter(STORED)
    var head = List[UInt8]()
    var body = List[UInt8]()
    for i in range(65535):
        archive.add(sink, String("m", i), Span(head), Span(body))
    archive.close(sink)
    ref data = sink.data
    var end = len(data) - 22
    assert_equal(_u16(data, end + 10), 0xFFFF)
    assert_equal(_u32(data, end - 20), 0x07064B50)
    assert_equal(_u32(data, end - 20 - 56), 0x06064B50)
    assert_equal(len(read_directory(ArchiveFile(write_temp(data)))), 65535)


def test_member_method() raises:
    var members = List[Member]()
    members.append(stored("layer_0.npy", bytes_of("x")))
    var data = build_zip(members)
    var cd = central_offset(data)
    put16(data, cd + 10, 12)
    assert_equal(_members_code(data, 1), "archive.member.method")
    data = build_zip(members)
    put16(data, cd + 8, 1)
    assert_equal(_members_code(data, 1), "archive.member.method")
    # The method is judged before any member is extracted: a bad CRC elsewhere comes later.
    data = build_zip(members)
    put16(data, cd + 10, 12)
    put32(data, cd + 16, 0)
    assert_equal(_members_code(data, 1), "archive.member.method")


def main() raises:
    TestSuite.discover_tests[__functions_in_module()]().run()


def _compressible_archive(level: Int) raises -> List[UInt8]:
    var sink = _Memory()
    var archive = ArchiveWriter(DEFLATED, level)
    var body = List[UInt8]()
    var x = UInt64(7)
    for _ in range(300000):  # bytes from 16 symbols: compressible, and more than one CHUNK of input
        x = x * 6364136223846793005 + 1442695040888963407
        body.append(UInt8(Int(x >> 60) + 0x41))
    archive.add(sink, "layer_0.npy", Span(List[UInt8]()), Span(body))
    archive.close(sink)
    var members = zip_members(sink.data)
    assert_true(members[0] == body)
    return sink.data.copy()


def test_writer_maps_zlib_levels_on_isal_levels() raises:
    assert_equal(isal_level(1), 1)
    assert_equal(isal_level(3), 1)
    assert_equal(isal_level(4), 2)
    assert_equal(isal_level(6), 2)
    assert_equal(isal_level(7), 3)
    assert_equal(isal_level(9), 3)
    # Levels that map on the same ISA-L level write the same bytes; each inflates back.
    var one = _compressible_archive(1)
    assert_true(_compressible_archive(3) == one)
    assert_true(len(one) < 300000)
    assert_true(_compressible_archive(4) != one or _compressible_archive(9) != one)
