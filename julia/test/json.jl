# json.jl: the strict reader's codes per invariant and their order, and the protocol reader.

strict(text) = strict(Vector{UInt8}(codeunits(text)))
strict(bytes::Vector{UInt8}) = S.decode_document(bytes, "test.json")
jcode(x) = (r = strict(x); r isa CheckpointError ? S.code_id(r) : "accept")

@testset "json" begin
    @testset "valid documents" begin
        v = strict("""{"a": [1, -0, 2.5, 1e-400, true, false, null, "x\\u00e9\\ud83d\\ude00\\n"], "b": {}}""")
        @test v isa S.JObject
        @test v["a"][1] === 1 && v["a"][2] === 0 && v["a"][3] === 2.5 && v["a"][4] === 0.0
        @test v["a"][8] == "xé😀\n"
        @test strict(" [] ") == Any[]
        @test strict("9007199254740991") === 9007199254740991
        @test strict("-9007199254740991") === -9007199254740991
        @test strict("1.7976931348623157e308") === 1.7976931348623157e308
        @test jcode("\"\\/\\b\\f\\r\\t\\\"\\\\\"") == "accept"
    end
    @testset "json.encoding.utf8" begin
        for bad in ([0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80],
                    [0xe2, 0x82], [0xfe], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe0, 0x80, 0xaf], [0xf0, 0x80, 0x80, 0xaf])
            @test jcode(vcat(Vector{UInt8}(codeunits("{\"a\": \"")), UInt8.(bad), Vector{UInt8}(codeunits("\"}")))) == "json.encoding.utf8"
        end
        @test jcode(Vector{UInt8}(codeunits("{\"a\": \"\xf4\x8f\xbf\xbf\"}"))) == "accept"   # U+10FFFF
    end
    @testset "json.encoding.bom" begin
        @test jcode(vcat(UInt8[0xef, 0xbb, 0xbf], Vector{UInt8}(codeunits("{}")))) == "json.encoding.bom"
        # Invalid UTF-8 after a BOM is judged first (utf8 precedes bom).
        @test jcode(vcat(UInt8[0xef, 0xbb, 0xbf, 0xff])) == "json.encoding.utf8"
    end
    @testset "json.depth" begin
        @test jcode("["^64 * "]"^64) == "accept"
        @test jcode("["^65 * "]"^65) == "json.depth"
        @test jcode("{\"a\":"^65 * "1" * "}"^65) == "json.depth"
        @test jcode("[{\"a\":"^33 * "1" * "}]"^33) == "json.depth"
        @test jcode("["^65) == "json.depth"                    # unclosed: lexical, before syntax
        @test jcode("[\"" * "["^100 * "\"]") == "accept"       # brackets inside a string do not count
        @test jcode("[\"\\\"" * "["^100 * "\"]") == "accept"   # an escaped quote does not end it
        @test jcode("]]]]" * "["^64) == "json.syntax"          # never below zero
        @test S.lexical_depth(Vector{UInt8}(codeunits("]]][[["))) == 3
    end
    @testset "json.syntax" begin
        for text in ("{\"a\": 1", "{\"a\": 1,}", "[1,]", "{'a': 1}", "{\"a\": 1 /* c */}", "{\"a\": 1} x",
                     "{\"a\": 01}", "{\"a\": \"\t\"}", "{\"a\": \"\\x\"}", "{\"a\": \"\\ud800\"}",
                     "{\"a\": \"\\udc00\"}", "{\"a\": \"\\ud800\\u0041\"}", "", "   ", "{\"a\" 1}", "{1: 2}",
                     "[1 2]", "-", "1.", ".5", "1e", "+1", "tru", "nul", "-NaN", "nan", "inf", "[\"a\"",
                     "{\"a\": \"\\u12\"}", "\"\\u00zz\"", "[1]]", "{,}", "[,1]", "\x00")
            @test jcode(text) == "json.syntax"
        end
    end
    @testset "json.nonfinite" begin
        for token in ("NaN", "Infinity", "-Infinity")
            @test jcode("{\"a\": [1, $token]}") == "json.nonfinite"
        end
        # Syntax anywhere beats an earlier NaN; NaN beats an earlier out-of-range number.
        @test jcode("[NaN, 1,]") == "json.syntax"
        @test jcode("[1e400, NaN]") == "json.nonfinite"
    end
    @testset "json.number.range" begin
        # Integer literals lie in [-2^63, 2^64 - 1], judged exactly whatever their length, at the
        # root, in a nested object and inside an array; other numbers are finite as float64.
        out_of_range = ("-237462374673276894279832749832423479823246327846", "-9223372036854775809",
                        "18446744073709551616", "123456789012345678901234567890", "99999999999999999999",
                        "-99999999999999999999", "1" * "0"^5000, "-" * "9"^5000, "1e400", "-2.5e308")
        in_range = ("-9223372036854775808", "9223372036854775807", "9223372036854775808",
                    "18446744073709551615", "9007199254740992", "-9007199254740993", "0", "-0")
        for lit in out_of_range, doc in ("{\"a\": $lit}", "{\"m\": {\"n\": [1, {\"k\": $lit}]}}", "[$lit]", lit)
            @test jcode(doc) == "json.number.range"
        end
        for lit in in_range, doc in ("{\"a\": $lit}", "{\"m\": {\"n\": [1, {\"k\": $lit}]}}", "[$lit]", lit)
            @test jcode(doc) == "accept"
        end
        # Kept exactly: Int64 where it fits, Int128 above; never a float.
        @test strict("-9223372036854775808") === typemin(Int64)
        @test strict("9223372036854775807") === typemax(Int64)
        @test strict("9223372036854775808") === Int128(2)^63
        @test strict("18446744073709551615") === Int128(typemax(UInt64))
        @test strict("[-1234567890123456789]")[1] === -1234567890123456789
        err = strict("{\"a\": " * "1" * "0"^5000 * "}")
        @test occursin("1000000000", err.message)
        @test jcode("{\"a\": 1e-400, \"b\": 9007199254740991.0, \"c\": 1E+2}") == "accept"
        @test jcode("{\"a\": 1e400, \"a\": 1}") == "json.number.range"   # range before duplicates
    end
    @testset "json.keys.unique" begin
        @test jcode("{\"a\": 1, \"a\": 2}") == "json.keys.unique"
        @test jcode("{\"a\": 1, \"\\u0061\": 2}") == "json.keys.unique"
        @test jcode("{\"m\": {\"k\": 1, \"k\": 1}}") == "json.keys.unique"
        @test jcode("[{\"k\": 1}, {\"k\": 1}]") == "accept"
        @test jcode("{\"a\": 1, \"A\": 2, \"a \": 3}") == "accept"
    end
    @testset "deep protocol input does not overflow the stack" begin
        v = S.read_json_protocol("["^100000 * "]"^100000)
        @test v isa Vector{Any}
        @test S.read_json_protocol("\"\\ud800\"") == String(UInt8[0xed, 0xa0, 0x80])   # kept, refused later
        # Protocol integers of any size are exact.
        @test S.read_json_protocol("18446744073709551616") === Int128(2)^64
        @test S.read_json_protocol("-9223372036854775809") === -Int128(2)^63 - 1
        @test S.read_json_protocol("-" * "1" * "0"^48) == -big(10)^48
        @test S.read_json_protocol("9223372036854775807") === typemax(Int64)
    end
    @testset "json.file.present" begin
        @test S.code_id(S.decode_document(nothing, "gone.json")) == "json.file.present"
    end
end
