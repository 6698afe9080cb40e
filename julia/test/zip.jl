# zip.jl: central-directory parsing, the structure rules, methods and member integrity.

zcode(bytes) = (r = S.read_zip_directory(bytes); r isa S.ZipProblem ? S.code_id(r.code) : "accept")

"The integrity verdict of the only member of a zip."
function member_verdict(bytes)
    entries = S.read_zip_directory(bytes)
    entries isa S.ZipProblem && return S.code_id(entries.code)
    data = S.read_member(bytes, entries[1])
    return data isa String ? "archive.member.integrity" : data
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
            @test S.read_member(bytes, entries[1]) == payload
            @test S.read_member(bytes, entries[2]) == UInt8[]
        end
        empty, _ = build_zip(Member[])
        @test length(empty) == 22 && S.read_zip_directory(empty) == S.ZipEntry[]
        # A comment after the end record, itself containing an end-record signature.
        fake = vcat(u32(0x06054b50), zeros(UInt8, 18))
        withc, _ = build_zip([Member("a.npy", payload)]; comment = fake)
        @test zcode(withc) == "accept"
        @test S.crc32(Vector{UInt8}(codeunits("123456789"))) == 0xcbf43926   # zip CRC-32, not CRC-32C
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
        comp = deflate_raw(payload)
        garbage = build_zip([Member("a.npy", payload, 8)])[1]
        garbage[DL.local_offsets[1]+30+5+20+1:DL.local_offsets[1]+30+5+20+length(comp)] .= 0xff
        @test member_verdict(garbage) == "archive.member.integrity"
        trailing = vcat(comp, UInt8[0x00, 0x01])
        t = S.inflate_raw(trailing, Int64(length(payload)))
        @test t isa String
        @test S.inflate_raw(comp[1:end-3], Int64(length(payload))) isa String
        @test S.inflate_raw(comp, Int64(length(payload))) == payload
        # A bomb that declares 10 bytes does not inflate past 11.
        bomb = deflate_raw(zeros(UInt8, 10_000_000))
        @test S.inflate_raw(bomb, Int64(10)) isa String
    end
end
