# json_write.jl: the writer spells values as Python's json.dumps does (compact for the protocol,
# indent=2 for the checkpoint document); floats read back exactly.

@testset "json_write" begin
    @testset "floats: Python's repr" begin
        # Pairs checked against CPython 3.11's repr().
        for (x, text) in ((1.0, "1.0"), (-0.0, "-0.0"), (0.0, "0.0"), (0.01, "0.01"), (1e-5, "1e-05"),
                          (2.5e-5, "2.5e-05"), (0.0001, "0.0001"), (1e21, "1e+21"), (1e16, "1e+16"),
                          (1e15, "1000000000000000.0"), (12345678901234567.0, "1.2345678901234568e+16"),
                          (0.30000000000000004, "0.30000000000000004"), (123456.789, "123456.789"),
                          (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
                          (-1.5e-300, "-1.5e-300"), (100.0, "100.0"),
                          # The edges of the positional range, the subnormal boundary, ties and
                          # values that 17 digits would spell differently.
                          (0.00011, "0.00011"), (9.999999999999999e-5, "9.999999999999999e-05"),
                          (1e-7, "1e-07"), (-5e-324, "-5e-324"), (9999999999999998.0, "9999999999999998.0"),
                          (1000000000000000.5, "1000000000000000.5"), (9007199254740993.0, "9007199254740992.0"),
                          (2.0^63, "9.223372036854776e+18"), (2.0^64, "1.8446744073709552e+19"),
                          (123456789012345680.0, "1.2345678901234568e+17"), (1e22, "1e+22"), (1e23, "1e+23"),
                          (2.2250738585072014e-308, "2.2250738585072014e-308"),
                          (2.225073858507201e-308, "2.225073858507201e-308"), (1.0000000000000002, "1.0000000000000002"),
                          (1 / 3, "0.3333333333333333"), (4.35, "4.35"), (-123456789.125, "-123456789.125"),
                          (1.23e-18, "1.23e-18"), (1.5e300, "1.5e+300"))
            @test S.format_float(x) == text
        end
        for x in (5e-324, 1.7976931348623157e308, 2.2250738585072011e-308, 0.1, 1e16, 123456.789, -7.25e-11)
            @test S.strtod(S.format_float(x)) === x
        end
        @test_throws ArgumentError S.format_float(NaN)
        @test_throws ArgumentError S.format_float(-Inf)
    end
    @testset "strings: ASCII with json.dumps's escapes" begin
        @test S.json_string(Any[1, 2.0, nothing, true, "a\"\\\n\u01\u7f~"]) == "[1,2.0,null,true,\"a\\\"\\\\\\n\\u0001\\u007f~\"]"
        @test S.json_string("\b\f\r\t") == "\"\\b\\f\\r\\t\""
        @test S.json_string("é😀") == "\"\\u00e9\\ud83d\\ude00\""
        @test S.json_string(String(UInt8[0xed, 0xa0, 0x80])) == "\"\\ud800\""      # a lone surrogate (WTF-8)
        @test S.json_string(String(UInt8[0xff])) == "\"\\ufffd\""
    end
    @testset "integers and containers" begin
        @test S.json_string(typemin(Int64)) == "-9223372036854775808"
        @test S.json_string(big(10)^30) == "1000000000000000000000000000000"
        doc = S.JObject(Pair{String,Any}["k" => Any[1, 2.5, S.JObject()], "é" => "x"])
        @test S.json_string(doc) == "{\"k\":[1,2.5,{}],\"\\u00e9\":\"x\"}"
        @test S.read_json_protocol(S.json_string(doc)) == doc
    end
    @testset "indent=2: json.dumps's layout" begin
        doc = S.read_json_protocol("""{"a": [], "b": {}, "c": [1, {"d": [null, true]}], "\\u007f": "\\u007f"}""")
        # json.dumps(doc, indent=2, ensure_ascii=True), as CPython writes it.
        @test S.json_string(doc, 2) == join(["{", "  \"a\": [],", "  \"b\": {},", "  \"c\": [", "    1,", "    {",
            "      \"d\": [", "        null,", "        true", "      ]", "    }", "  ],", "  \"\\u007f\": \"\\u007f\"", "}"], "\n")
        @test S.json_string(Any[], 2) == "[]" && S.json_string(S.JObject(), 2) == "{}"
        @test S.json_string(Any[(1, 2)], 2) == "[\n  [\n    1,\n    2\n  ]\n]"
    end
end
