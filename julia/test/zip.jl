# zip.jl: central-directory parsing, the structure rules, and the archive phase (digest,
# members, methods, member integrity); the archive writer.

zcode(bytes) = (r = S.read_zip_directory(bytes); r isa CheckpointError ? S.code_id(r) : "accept")

"The archive phase's verdict for the two layers of valid_doc()."
function acode(archive; digest = nothing)
    r = archive_members(archive, ["hidden", "out"], digest)
    return r isa CheckpointError ? S.code_id(r) : "accept"
end

"The integrity verdict of the only member of a zip."
function member_verdict(bytes)
    entries = S.read_zip_directory(bytes)
    entries isa CheckpointError && return S.code_id(entries)
    data = member_bytes(bytes, entries[1])
    return data isa String ? "archive.member.integrity" : data
end

# Prints what zip.jl transcribed from isa-l/igzip_lib.h, in the order of ISAL_LAYOUT below.
const ISAL_PROBE = """
#include <stdio.h>
#include <stddef.h>
#include <isa-l/igzip_lib.h>
#define AT(f) (long)offsetof(struct isal_zstream, f)
int main(void) {
    printf("%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %d %d %d %d %d %d\\n",
           (long)sizeof(struct isal_zstream), AT(next_in), AT(avail_in), AT(next_out), AT(avail_out),
           AT(level), AT(level_buf_size), AT(level_buf), AT(end_of_stream), AT(gzip_flag),
           AT(internal_state.state), (long)sizeof(((struct isal_zstream *)0)->internal_state.state),
           ISAL_DEF_LVL1_DEFAULT, ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT, ZSTATE_END, COMP_OK, IGZIP_DEFLATE);
    return 0;
}
"""
const ISAL_LAYOUT = [S.ISAL_ZSTREAM_SIZE, S.ZS_NEXT_IN, S.ZS_AVAIL_IN, S.ZS_NEXT_OUT, S.ZS_AVAIL_OUT, S.ZS_LEVEL,
                     S.ZS_LEVEL_BUF_SIZE, S.ZS_LEVEL_BUF, S.ZS_END_OF_STREAM, S.ZS_GZIP_FLAG, S.ZS_STATE, 4,
                     S.ISAL_LEVEL_BUF..., S.ZSTATE_END, S.COMP_OK, S.IGZIP_DEFLATE]

@testset "ISA-L's isal_zstream as the writer reads it" begin
    dir = mktempdir()
    write(joinpath(dir, "probe.c"), ISAL_PROBE)
    run(`gcc -o $(joinpath(dir, "probe")) $(joinpath(dir, "probe.c"))`)
    @test parse.(Int, split(read(`$(joinpath(dir, "probe"))`, String))) == ISAL_LAYOUT
    rm(dir; recursive = true)
    # zlib's levels on ISA-L's, as the reference maps them.
    @test S.isal_level.(1:9) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
    # Every level over an empty, a one-call and a several-call (of the 1 MiB output) stream.
    for level in 1:9, data in (UInt8[], rand(UInt8, 1000), vcat(rand(UInt8, 3 << 20), zeros(UInt8, 1 << 20)))
        @test inflate_member(S.deflate_raw([data], level), length(data), S.crc32(data)) == data
    end
    # A short first part (an .npy header) goes with the next part's start: the stream is the
    # parts' concatenation, and as small as deflating that concatenation in one call.
    header, ones64 = Vector{UInt8}(codeunits(rpad("{'descr': '<f8'}", 127) * "\n")), reinterpret(UInt8, ones(8192))
    for parts in ([header, Vector(ones64)], [header, UInt8[]], [header, Vector(ones64), header])
        joined = vcat(parts...)
        stream = S.deflate_raw(parts, 1)
        @test inflate_member(stream, length(joined), S.crc32(joined)) == joined
        @test length(stream) <= length(S.deflate_raw([joined], 1)) + 8
    end
end

@testset "zip" begin
    payload = Vector{UInt8}(codeunits("hello, zip " ^ 50))
    @testset "valid archives" begin
        for method in (0, 8), z64l in (true, false), z64c in (true, false)
            bytes, _ = build_zip([Member("a.npy", payload, method), Member("b.npy", UInt8[], method)];
                                 zip64_local = z64l, zip64_central = z64c)
            entries = S.read_zip_directory(bytes)
            @test entries isa Vector{S.ZipEntry}
            @test [S.entry_name(e) for e in entries] == ["a.npy", "b.npy"]
            @test member_bytes(bytes, entries[1]) == payload
            @test member_bytes(bytes, entries[2]) == UInt8[]
        end
        empty, _ = build_zip(Member[])
        @test length(empty) == 22 && S.read_zip_directory(empty) == S.ZipEntry[]
        # A comment after the end record, itself containing an end-record signature.
        fake = vcat(u32(0x06054b50), zeros(UInt8, 18))
        withc, _ = build_zip([Member("a.npy", payload)]; comment = fake)
        @test zcode(withc) == "accept"
        @test S.crc32(Vector{UInt8}(codeunits("123456789"))) == 0xcbf43926   # zip CRC-32, not CRC-32C
        # ISA-L's CRC-32 continues a CRC exactly as zlib's crc32 does, at any length and split.
        zlib_crc(data) = UInt32(ccall((:crc32, S.LIBZ), Culong, (Culong, Ptr{UInt8}, Cuint), 0, data, length(data)))
        for n in (0, 1, 15, 16, 17, 63, 64, 65, 255, 1000, 100_003), cut in unique((0, 1, n ÷ 2, n))
            data = rand(UInt8, n)
            cut = min(cut, n)
            @test S.crc32(data[cut+1:end], S.crc32(data[1:cut])) == zlib_crc(data)
        end
    end
    @testset "archive.zip.structure" begin
        good, L = build_zip([Member("a.npy", payload), Member("b.npy", payload)])
        @test zcode(Vector{UInt8}(codeunits("not a zip file at all, just text"))) == "archive.zip.structure"
        @test zcode(UInt8[]) == "archive.zip.structure"
        @test zcode(good[1:end-1]) == "archive.zip.structure"                        # truncated tail
        @test zcode(patch!(copy(good), L.eocd_offset + 16, u32(L.cd_offset + 1))) == "archive.zip.structure"
        @test zcode(patch!(copy(good), L.eocd_offset + 16, u32(0xfffffff0))) == "archive.zip.structure"
        @test zcode(patch!(patch!(copy(good), L.eocd_offset + 8, u16(3)), L.eocd_offset + 10, u16(3))) == "archive.zip.structure"
        @test zcode(patch!(patch!(copy(good), L.eocd_offset + 8, u16(1)), L.eocd_offset + 10, u16(1))) == "archive.zip.structure"
        @test zcode(patch!(copy(good), L.local_offsets[2], u32(0x04034b51))) == "archive.zip.structure"
        @test zcode(patch!(copy(good), L.local_offsets[2] + 30, Vector{UInt8}(codeunits("c")))) == "archive.zip.structure"
        @test zcode(patch!(copy(good), L.eocd_offset + 4, u16(1))) == "archive.zip.structure"        # multi-disk
        @test zcode(patch!(copy(good), L.eocd_offset + 8, u16(1))) == "archive.zip.structure"        # count on disk
        @test zcode(patch!(copy(good), L.central_offsets[2] + 34, u16(1))) == "archive.zip.structure" # entry disk
        # Data past the directory: grow the second member's compressed size.
        csize = Int(S.le32(good, L.central_offsets[2] + 20))
        @test zcode(patch!(copy(good), L.central_offsets[2] + 20, u32(csize + 1))) == "archive.zip.structure"
        # Overlap: point the second entry at the first local header.
        ov = patch!(copy(good), L.central_offsets[2] + 42, u32(L.local_offsets[1]))
        ov = patch!(ov, L.central_offsets[2] + 46, Vector{UInt8}(codeunits("a.npy")))
        @test zcode(ov) == "archive.zip.structure"
        # The directory declares more bytes than its entries hold.
        @test zcode(patch!(copy(good), L.eocd_offset + 12, u32(L.eocd_offset - L.cd_offset - 1))) == "archive.zip.structure"
        # zip64: sizes marked 0xFFFFFFFF without a zip64 extra; a truncated extra field.
        z, ZL = build_zip([Member("a.npy", payload)]; zip64_central = true)
        @test zcode(patch!(copy(z), ZL.central_offsets[1] + 30, u16(0))) == "archive.zip.structure"
        @test zcode(patch!(copy(z), ZL.central_offsets[1] + 46 + 5 + 2, u16(200))) == "archive.zip.structure"
        # End record that needs zip64 but has no locator; offsets near 2^63 do not overflow.
        @test zcode(patch!(copy(good), L.eocd_offset + 10, u16(0xffff))) == "archive.zip.structure"
        huge = patch!(copy(z), ZL.central_offsets[1] + 46 + 5 + 4 + 16, u64(typemax(Int64) - 10))
        @test zcode(huge) == "archive.zip.structure"
    end
    @testset "zip64 end records" begin
        bytes, L = build_zip([Member("a.npy", payload)])
        cd = bytes[L.cd_offset+1:L.eocd_offset]
        body = bytes[1:L.cd_offset]
        z64 = length(body) + length(cd)
        rec = vcat(u32(0x06064b50), u64(44), u16(45), u16(45), u32(0), u32(0), u64(1), u64(1),
                   u64(length(cd)), u64(L.cd_offset))
        loc = vcat(u32(0x07064b50), u32(0), u64(z64), u32(1))
        eocd = vcat(u32(0x06054b50), u16(0), u16(0), u16(0xffff), u16(0xffff), u32(0xffffffff), u32(0xffffffff), u16(0))
        ok = vcat(body, cd, rec, loc, eocd)
        @test zcode(ok) == "accept"
        @test zcode(patch!(copy(ok), z64 + 56 + 16, u32(2))) == "archive.zip.structure"   # locator: 2 disks
        @test zcode(patch!(copy(ok), z64 + 16, u32(1))) == "archive.zip.structure"        # zip64 disk number
        # Any end-record field at its maximum defers to the zip64 record, a disk number too.
        only_disk = vcat(u32(0x06054b50), u16(0xffff), u16(0), u16(1), u16(1), u32(length(cd)), u32(L.cd_offset), u16(0))
        @test zcode(vcat(body, cd, rec, loc, only_disk)) == "accept"
        @test zcode(vcat(body, cd, only_disk)) == "archive.zip.structure"                # ... which must be there
    end
    @testset "archive.member.integrity" begin
        stored, SL = build_zip([Member("a.npy", payload, 0)])
        deflated, DL = build_zip([Member("a.npy", payload, 8)])
        @test member_verdict(stored) == payload
        @test member_verdict(patch!(copy(stored), SL.central_offsets[1] + 16, u32(0))) == "archive.member.integrity"    # crc
        flip = copy(stored); flip[SL.local_offsets[1] + 30 + 5 + 20 + 1] ⊻= 0x01
        @test member_verdict(flip) == "archive.member.integrity"
        @test member_verdict(patch!(copy(stored), SL.central_offsets[1] + 24, u32(length(payload) + 1))) == "archive.member.integrity"
        @test member_verdict(patch!(copy(deflated), DL.central_offsets[1] + 24, u32(length(payload) + 1))) == "archive.member.integrity"
        @test member_verdict(patch!(copy(deflated), DL.central_offsets[1] + 24, u32(length(payload) - 1))) == "archive.member.integrity"
        @test member_verdict(patch!(copy(deflated), DL.central_offsets[1] + 24, u32(0))) == "archive.member.integrity"
        # Garbage instead of deflate data; a stream that ends before its compressed size.
        comp = S.deflate_raw([payload])
        garbage = build_zip([Member("a.npy", payload, 8)])[1]
        garbage[DL.local_offsets[1]+30+5+20+1:DL.local_offsets[1]+30+5+20+length(comp)] .= 0xff
        @test member_verdict(garbage) == "archive.member.integrity"
        trailing = vcat(comp, UInt8[0x00, 0x01])
        t = inflate_member(trailing, length(payload), S.crc32(payload))
        @test t isa String
        @test inflate_member(comp[1:end-3], length(payload), S.crc32(payload)) isa String
        @test inflate_member(comp, length(payload), S.crc32(payload)) == payload
        @test inflate_member(comp, length(payload), S.crc32(payload) + 0x1) isa String
        # A bomb that declares 10 bytes does not inflate past 11.
        bomb = S.deflate_raw([zeros(UInt8, 10_000_000)])
        @test inflate_member(bomb, 10) isa String
        # Declared beyond what deflate can produce from the compressed bytes (1032 x + 1 KiB):
        # refused before inflating; at the bound it is inflated and judged as usual.
        small = S.deflate_raw([zeros(UInt8, 100_000)])
        @test occursin("can inflate to", inflate_member(small, 1032 * length(small) + 1025))
        @test occursin("inflates to 100000 bytes", inflate_member(small, 1032 * length(small) + 1024))
        # zip64 sizes up to 2^64 - 1 (archive.zip64): an uncompressed size far beyond the data is
        # member integrity, never structure; the inflate cap (declared + 1) must not overflow.
        @test inflate_member(comp, typemax(UInt64)) isa String
        for method in (0, 8), declared in (typemax(Int64), UInt64(2)^63, typemax(UInt64))
            z64, L = build_zip([Member("a.npy", payload, method)]; zip64_central = true)
            usize_at = L.central_offsets[1] + 46 + 5 + 4          # the extra's first value
            @test member_verdict(patch!(z64, usize_at, u64(declared))) == "archive.member.integrity"
        end
        # A compressed size or offset beyond Int64 runs past any file: structure.
        for field in (1, 2), value in (UInt64(2)^63, typemax(UInt64))
            z64, L = build_zip([Member("a.npy", payload)]; zip64_central = true)
            @test zcode(patch!(z64, L.central_offsets[1] + 46 + 5 + 4 + 8 * field, u64(value))) == "archive.zip.structure"
        end
    end
    @testset "the archive phase" begin
        @test acode(valid_zip()) == "accept"
        raws = archive_members(valid_zip(), ["hidden", "out"], nothing)
        @test raws == [npy_matrix(W1), npy_matrix(W2)]
        @test acode(nothing) == "archive.file.present"
        @test acode(valid_zip(); digest = bytes2hex(SHA.sha256(valid_zip()))) == "accept"
        @test acode(valid_zip(); digest = "0"^64) == "archive.digest"
        @test acode(Vector{UInt8}(codeunits("PK but not a zip"))) == "archive.zip.structure"
        twice = [Member("layer_0.npy", npy_matrix(W1)), Member("layer_0.npy", npy_matrix(W1)), Member("layer_1.npy", npy_matrix(W2))]
        @test acode(first(build_zip(twice))) == "archive.members.duplicate"
        for extra in ("extra.npy", "layer_2.npy", "layer_00.npy", "__pickle__.pkl", "layer_1", "Layer_1.npy", "dir/layer_1.npy")
            @test acode(first(build_zip(vcat(valid_members(), [Member(extra, npy_matrix(W2))])))) == "archive.members.unexpected"
        end
        @test acode(first(build_zip(valid_members()[1:1]))) == "archive.members.missing"
        z, L = build_zip(valid_members())
        for method in (12, 14, 93, 99)
            @test acode(patch!(copy(z), L.central_offsets[2] + 10, u16(method))) == "archive.member.method"
        end
        for flag in (0x0001, 0x0040)
            @test acode(patch!(copy(z), L.central_offsets[1] + 8, u16(flag))) == "archive.member.method"
        end
        # Method errors on any member come before an integrity error on an earlier one.
        zz = patch!(copy(z), L.central_offsets[1] + 16, u32(0))
        @test acode(zz) == "archive.member.integrity"
        @test acode(patch!(zz, L.central_offsets[2] + 10, u16(12))) == "archive.member.method"
        # Stored members read as well as deflated ones.
        stored = first(build_zip([Member("layer_0.npy", npy_matrix(W1), 0), Member("layer_1.npy", npy_matrix(W2), 0)]))
        @test archive_members(stored, ["hidden", "out"], nothing) == [npy_matrix(W1), npy_matrix(W2)]
        # The digest is checked before the structure: a broken zip is still hashed.
        broken = Vector{UInt8}(codeunits("PK but not a zip"))
        @test acode(broken; digest = "0"^64) == "archive.digest"
        @test acode(broken; digest = bytes2hex(SHA.sha256(broken))) == "archive.zip.structure"
    end
    @testset "the writer (save.writer.archive)" begin
        "The archive `members` give, from a writer whose offset starts at `offset`; its (digest, size)."
        function written(method, members; offset = 0)
            io = IOBuffer()
            w = S.ArchiveWriter(io, method)
            w.offset = offset
            for (name, parts) in members
                S.add_member!(w, Vector{UInt8}(codeunits(name)), [Vector{UInt8}(codeunits(p)) for p in parts])
            end
            summary = S.close!(w)
            bytes = take!(io)
            @test summary == (sha256 = bytes2hex(SHA.sha256(bytes)), size = offset + length(bytes))
            return bytes
        end
        # Byte for byte what the Python reference's ArchiveWriter writes for the same members
        # (both deflate through ISA-L at its level 1 here).
        @test bytes2hex(written(S.DEFLATED, ["a" => ["hello ", "hello hello"]])) ==
            "504b0304140000000800000021008088f9e513000000110000000100000061cb48cdc9c957c848cdc9c957c848" *
            "cdc9c90700504b01021400140000000800000021008088f9e5130000001100000001000000000000000000000000" *
            "000000000061504b050600000000010001002f000000320000000000"
        # A local offset beyond 0xFFFFFFFF: a zip64 extra field holding just the offset in the
        # central entry, then a zip64 end record and locator (the directory starts beyond it too).
        @test bytes2hex(written(S.STORED, ["layer_0.npy" => ["abc", "de"]]; offset = 2^32 + 5)) ==
            "504b03041400000000000000210065d8878505000000050000000b0000006c617965725f302e6e70796162636465" *
            "504b01022d002d00000000000000210065d8878505000000050000000b000c0000000000000000000000ffffffff" *
            "6c617965725f302e6e7079010008000500000001000000504b06062c000000000000002d002d00000000000000" *
            "00000100000000000000010000000000000045000000000000003300000001000000504b0607000000007800" *
            "00000100000001000000504b0506000000000100010045000000ffffffff0000"
        # Sizes beyond 0xFFFFFFFF: both headers carry them in zip64 extras (never written for real).
        big = S.ZipEntry(Vector{UInt8}(codeunits("x")), 0, 8, 0, 2^32, 2^32 + 1, 7, 0)
        central = S.central_entry_bytes(big)
        @test S.le16(central, 4) == 45 && S.le32(central, 20) == 0xffffffff && S.le32(central, 24) == 0xffffffff
        @test S.le32(central, 42) == 7 && S.le16(central, 30) == 20
        @test S.le64(central, 47 + 4) == 2^32 + 1 && S.le64(central, 47 + 12) == 2^32
        # What the writer writes, the reader reads: stored and deflated, empty and multi-part members.
        for method in (S.STORED, S.DEFLATED)
            bytes = written(method, ["a.npy" => ["x"^1000, "yz"], "b.npy" => String[], "c.npy" => [""]])
            entries = S.read_zip_directory(bytes)
            @test [S.entry_name(e) for e in entries] == ["a.npy", "b.npy", "c.npy"]
            @test String(copy(member_bytes(bytes, entries[1]))) == "x"^1000 * "yz"
            @test isempty(member_bytes(bytes, entries[2])) && isempty(member_bytes(bytes, entries[3]))
            @test all(e -> e.method == method && e.flags == 0, entries)
        end
        @test S.read_zip_directory(written(S.STORED, [])) == S.ZipEntry[]
        # One deflate stream over several parts, larger than zlib's buffers.
        parts = [rand(UInt8, 100_000), zeros(UInt8, 300_000), UInt8[], rand(UInt8, 7)]
        @test inflate_member(S.deflate_raw(parts), 400_007, S.crc32(vcat(parts...))) == vcat(parts...)
        @test S.sha256_hex(vcat(parts...)) == bytes2hex(SHA.sha256(vcat(parts...)))   # libcrypto
        @test S.crc32(vcat(parts...)) == foldl((c, p) -> S.crc32(p, c), parts; init = UInt32(0))
    end
end
