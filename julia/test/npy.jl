# npy.jl: magic, header grammar, dtypes, byte order, Fortran order, and the array phase; the
# writer's header and data bytes.

"The array phase's verdict for two layers (hidden 2->3, out 3->1 unless `sizes` says otherwise)."
function lcode(m1, m2 = npy_matrix(W2); sizes = [(2, 3), (3, 1)])
    r = decode_members([m1, m2], ["hidden", "out"], sizes)
    return r isa CheckpointError ? S.code_id(r) : "accept"
end

ncode(m) = begin
    h = S.read_npy_header(m)
    h isa S.NpyProblem && return S.code_id(h.code)
    d = S.check_npy_dtype(h.descr)
    d === nothing ? "accept" : S.code_id(d.code)
end
hdr(d) = npy_bytes(d, zeros(UInt8, 48))

@testset "npy" begin
    ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
    @testset "array.npy.magic" begin
        @test ncode(hdr(ok)) == "accept"
        m = hdr(ok); m[2] = UInt8('X')
        @test ncode(m) == "array.npy.magic"
        for v in ((4, 0), (1, 1), (0, 0))
            m = hdr(ok); m[7] = v[1]; m[8] = v[2]
            @test ncode(m) == "array.npy.magic"
        end
        @test ncode(S.NPY_MAGIC[1:4]) == "array.npy.magic"
        @test ncode(vcat(S.NPY_MAGIC, UInt8[1])) == "array.npy.magic"
        @test ncode(vcat(S.NPY_MAGIC, UInt8[1, 0, 5])) == "array.npy.header"   # length field cut off
    end
    @testset "array.npy.header" begin
        for v in (1, 2, 3)
            @test ncode(npy_bytes(ok, UInt8[]; version = v)) == "accept"
        end
        for d in ("{'descr': '<f8', 'fortran_order': False}",                          # missing key
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}",   # extra key
                  "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': [2, 3]}",         # not a tuple
                  "{'descr': '<f8', 'fortran_order': 0, 'shape': (2, 3)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2*3, 1)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (-1, 3)}",
                  "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (02, 3)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2,,)}",
                  "{'descr': '<f8',, 'fortran_order': False, 'shape': (2,)}",
                  "{\"descr\": '<f8', 'fortran_order': False, 'shape': (2,)}",
                  "{'descr': '<f8',\t'fortran_order': False, 'shape': (2,)}",
                  "{'descr': '<\\f8', 'fortran_order': False, 'shape': (2,)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} x")
            @test ncode(hdr(d)) == "array.npy.header"
        end
        @test ncode(npy_bytes(ok, UInt8[]; pad = false)) == "accept"
        nonl = vcat(S.NPY_MAGIC, UInt8[1, 0], u16(length(ok)), Vector{UInt8}(codeunits(ok)))
        @test ncode(nonl) == "array.npy.header"
        past = vcat(S.NPY_MAGIC, UInt8[1, 0], u16(500), Vector{UInt8}(codeunits(ok * "\n")))
        @test ncode(past) == "array.npy.header"
        bad3 = vcat(S.NPY_MAGIC, UInt8[3, 0], u32(4), UInt8[UInt8('{'), 0xff, UInt8('}'), UInt8('\n')])
        @test ncode(bad3) == "array.npy.header"
        # Spacing variants the grammar allows; rank 0, 1 and 3 shapes parse.
        for d in ("{'shape':(2,3),'fortran_order':True,'descr':'>i4'}",
                  " { 'descr' : '<f8' , 'fortran_order' : False , 'shape' : ( 2 , 3 , ) , } ",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': ()}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (5,)}",
                  "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1, 999999999999999999)}")
            @test ncode(hdr(d)) == "accept"
        end
        # An int has at most 18 digits (every dimension fits an Int64), as the reference reads it.
        @test ncode(hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1234567890123456789)}")) == "array.npy.header"
        @test ncode(hdr("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1, 99999999999999999999999)}")) == "array.npy.header"
    end
    @testset "array.dtype.pickle and array.dtype" begin
        dt(descr) = ncode(hdr("{'descr': '$descr', 'fortran_order': False, 'shape': (2,)}"))
        @test dt("|O") == "array.dtype.pickle"
        @test dt("<O") == "array.dtype.pickle"
        for d in ("|b1", "<c16", "<U1", "|S8", "=f8", "<f16", "<i1", "<M8[s]", "f8", "", "O")
            @test dt(d) == "array.dtype"
        end
        for d in keys(S.ACCEPTED_DTYPES)
            @test dt(d) == "accept"
        end
    end
    @testset "widening, byte order, Fortran order" begin
        vals = Int[1, -2, 3, 4, -5, 6]     # the (2, 3) matrix [1 -2 3; 4 -5 6] in row-major order
        expect = [1.0 -2.0 3.0; 4.0 -5.0 6.0]
        for (descr, T) in S.ACCEPTED_DTYPES
            be = descr[1] == '>'
            xs = T <: Unsigned ? T.(abs.(vals)) : T.(vals)
            raw = collect(reinterpret(UInt8, be ? hton.(xs) : htol.(xs)))
            m = npy_bytes("{'descr': '$descr', 'fortran_order': False, 'shape': (2, 3), }", raw)
            h = S.read_npy_header(m)
            w = widen_member(m, h)
            @test w == (T <: Unsigned ? abs.(expect) : expect)
            # Fortran order: the same matrix stored column by column.
            colmajor = T <: Unsigned ? T.(abs.(vec(expect))) : T.(vec(expect))
            raw = collect(reinterpret(UInt8, be ? hton.(colmajor) : htol.(colmajor)))
            m = npy_bytes("{'descr': '$descr', 'fortran_order': True, 'shape': (2, 3), }", raw)
            @test widen_member(m, S.read_npy_header(m)) == (T <: Unsigned ? abs.(expect) : expect)
        end
        # int64 / uint64 round to nearest, ties to even.
        bigs = Int64[2^53 + 1, typemax(Int64)]
        m = npy_bytes("{'descr': '<i8', 'fortran_order': False, 'shape': (1, 2), }", collect(reinterpret(UInt8, bigs)))
        @test widen_member(m, S.read_npy_header(m)) == [9007199254740992.0 9223372036854775807.0]
        f16 = Float16[0.1, -Inf]
        m = npy_bytes("{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2), }", collect(reinterpret(UInt8, f16)))
        @test widen_member(m, S.read_npy_header(m)) == [0.0999755859375 -Inf]
        @test S.npy_expected_length(S.read_npy_header(hdr("{'descr': '<f2', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}"))) ==
              big(2)^96 * 2
    end
    @testset "the array phase" begin
        r = decode_members([npy_matrix(W1), npy_matrix(W2)], ["hidden", "out"], [(2, 3), (3, 1)])
        @test r == [W1, W2]
        @test lcode(vcat(UInt8[0x00], npy_matrix(W1)[2:end])) == "array.npy.magic"
        @test lcode(npy_bytes("{'descr': '<f8'}", zeros(UInt8, 48))) == "array.npy.header"
        @test lcode(npy_bytes("{'descr': '|O', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 48))) == "array.dtype.pickle"
        @test lcode(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 6))) == "array.dtype"
        @test lcode(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), }", zeros(UInt8, 48))) == "array.shape.rank"
        @test lcode(npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", zeros(UInt8, 8))) == "array.shape.rank"
        @test lcode(npy_matrix(collect(permutedims(W1)))) == "array.shape.match"
        good = npy_matrix(W1)
        @test lcode(vcat(good, UInt8[0])) == "array.data.length"
        @test lcode(good[1:end-8]) == "array.data.length"
        nanw = copy(W1); nanw[2, 1] = NaN
        @test lcode(npy_matrix(nanw)) == "array.finite"
        infw = copy(W2); infw[1, 3] = -Inf
        @test lcode(npy_matrix(W1), npy_matrix(infw)) == "array.finite"
        # Spec order across layers: layer 1's bad magic beats layer 0's bad dtype.
        @test lcode(npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3, 2), }", zeros(UInt8, 6)),
                    vcat(UInt8[0x00], npy_matrix(W2)[2:end])) == "array.npy.magic"
        @test lcode(vcat(good, UInt8[0]), npy_matrix(collect(permutedims(W2)))) == "array.shape.match"
        # Huge declared shape that matches huge layer sizes: data length, nothing allocated.
        m = 2147483647
        huge = npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4194304, $m), }", zeros(UInt8, 16))
        @test lcode(huge; sizes = [(m, 4194304), (3, 1)]) == "array.data.length"
        # A big-endian, Fortran-ordered float32 member widens to the same matrix.
        f32 = Float32.(W1)
        m0 = npy_bytes("{'descr': '>f4', 'fortran_order': True, 'shape': (3, 2), }", collect(reinterpret(UInt8, hton.(vec(f32)))))
        @test decode_members([m0, npy_matrix(W2)], ["hidden", "out"], [(2, 3), (3, 1)])[1] == Float64.(f32)
    end
    @testset "the writer's header and data (save.writer.npy_header)" begin
        # numpy.lib.format.write_array_header_1_0 for a (3, 2) float64 C-ordered matrix.
        @test S.npy_header_bytes(3, 2) == vcat(S.NPY_MAGIC, UInt8[1, 0, 118, 0],
            Vector{UInt8}(codeunits("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }" * " "^58 * "\n")))
        for (rows, cols) in ((1, 1), (12, 1234567), (999_999_999_999_999_999, 999_999_999_999_999_999))
            h = S.npy_header_bytes(rows, cols)
            @test length(h) % 64 == 0 && h[end] == UInt8('\n')
            parsed = S.read_npy_header(h)
            @test parsed.shape == [rows, cols] && parsed.descr == "<f8" && !parsed.fortran_order
            @test parsed.data_start == length(h) + 1
        end
        # The data: little-endian float64 in the order given (the caller passes row-major values).
        values = [1.5, -0.0, 5e-324]
        @test S.with_le_bytes(copy, values) == reinterpret(UInt8, htol.(values))
        @test widen_member(vcat(S.npy_header_bytes(1, 3), S.with_le_bytes(copy, values)),
                               S.read_npy_header(S.npy_header_bytes(1, 3))) == reshape(values, 1, 3)
    end
end
