import PushinatorJSON
import PushinatorRuntime
import Testing

@Suite struct ConfigFileReaderTests {
    let reader = ConfigFileReader()

    func parse(_ text: String) throws(ConfigError) -> JSONValue {
        try reader.parse(text, source: "pushinator.conf")
    }

    func parseError(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func readsNodePushinatorSampleFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let path = try directory.write("pushinator.conf", samplePushinatorConfig)
        let value = try reader.read(contentsOf: path)
        let expected: JSONValue = [
            "pidfile": "/var/run/pushinator.pid",
            "admin": ["host": "127.0.0.1", "port": 9600],
            "client": [
                "host": 0, "port": 9601,
                "socketIoTransports": ["websocket", "flashsocket", "htmlfile", "xhr-polling", "jsonp-polling"],
                "useSSL": false, "sslKey": "", "sslCert": "",
            ],
            "log": ["debug": false, "syslog": ["enable": false, "tag": "pushinator", "facility": "LOG_LOCAL0"]],
        ]
        #expect(value == expected)
        #expect(value.object?.keys == ["pidfile", "admin", "client", "log"])
    }

    @Test func readsPlainJSON() throws {
        let value = try parse(#"{"a": [1, -2.5, 1e3, true, false, null], "b": {"c": "d\u00e9\n"}}"#)
        #expect(value == ["a": [1, -2.5, 1000.0, true, false, nil], "b": ["c": "d\u{e9}\n"]])
        #expect(try parse("[]") == [])
        #expect(try parse(" 42 ") == 42)
        #expect(try parse("\u{FEFF}{}") == [:])
    }

    @Test func readsAssignmentVariants() throws {
        #expect(try parse("exports.config = { a: 1 }") == ["a": 1])
        #expect(try parse("module.exports.config = { a: 1 };") == ["a": 1])
        #expect(try parse("var config = { a: 1 };\nmodule.exports = config;") == ["a": 1])
        #expect(try parse("const config = { a: 1 }; exports = config") == ["a": 1])
        #expect(try parse("var config = { a: 1 };") == ["a": 1])
        #expect(try parse("module . exports = { a: 1 }") == ["a": 1])
    }

    @Test func readsJavaScriptLiterals() throws {
        let value = try parse(
            """
            module.exports = {
                'single': 'it\\'s', "double": "say \\"hi\\"", $id_1: 1, 2: 'two',
                escapes: '\\t\\x41\\u0042\\u{1F600}\\uD83D\\uDE00\\q\\0\\\n-',
                numbers: [+1, -0.5, .5, 5., 0x1F, -0x10, 1E-2, 9223372036854775807, 99999999999999999999],
                undef: undefined, trailing: [1, 2,],
            }
            """
        )
        #expect(value["single"] == "it's")
        #expect(value["double"] == "say \"hi\"")
        #expect(value["$id_1"] == 1)
        #expect(value["2"] == "two")
        #expect(value["escapes"] == "\tAB\u{1F600}\u{1F600}q\0-")
        #expect(value["numbers"] == [1, -0.5, 0.5, 5.0, 31, -16, 0.01, .integer(Int.max), 1e20])
        #expect(value["undef"] == .null)
        #expect(value["trailing"] == [1, 2])
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        #expect(try parse("{a: 1, b: 2, a: 3}") == ["a": 3, "b": 2])
    }

    @Test(arguments: [
        ("module.exports = {\n  a: 1;\n};", "pushinator.conf:2:7: expected ',' or '}' but found ';'"),
        ("{ a: 'abc\n}", "pushinator.conf:1:6: unterminated string"),
        ("{ a: 'abc", "pushinator.conf:1:6: unterminated string"),
        ("{ /* never closed", "pushinator.conf:1:3: unterminated comment"),
        (#"{"a": "\x4g"}"#, #"pushinator.conf:1:8: invalid escape sequence"#),
        (#"{"a": "\u{110000}"}"#, #"pushinator.conf:1:8: invalid escape sequence"#),
        ("{ a 1 }", "pushinator.conf:1:5: expected ':' but found '1'"),
        ("{\n  a: ", "pushinator.conf:2:6: expected a value but found end of file"),
        ("{} x", "pushinator.conf:1:4: expected end of file but found 'x'"),
        ("{};;", "pushinator.conf:1:4: expected end of file but found ';'"),
        ("foo.bar = {}", "pushinator.conf:1:1: expected 'module.exports =' or a JSON value but found 'foo.bar'"),
        ("module.exports {}", "pushinator.conf:1:16: expected '=' but found '{'"),
        ("[1,,2]", "pushinator.conf:1:4: expected a value or ']' but found ','"),
        ("[1 2]", "pushinator.conf:1:4: expected ',' or ']' but found '2'"),
        ("{a: -}", "pushinator.conf:1:6: expected a digit but found '}'"),
        ("{a: 1e}", "pushinator.conf:1:7: expected an exponent digit but found '}'"),
        ("{a: 0x}", "pushinator.conf:1:7: expected a hexadecimal digit but found '}'"),
        ("{a: 1e999}", "pushinator.conf:1:5: number is out of range"),
        ("{a: yes}", "pushinator.conf:1:5: expected a value but found 'yes'"),
        ("{a: @}", "pushinator.conf:1:5: expected a value but found '@'"),
        ("{: 1}", "pushinator.conf:1:2: expected a key or '}' but found ':'"),
        ("var config = {}; module.exports = other;", "pushinator.conf:1:35: expected 'config' but found 'other'"),
        ("var = {}", "pushinator.conf:1:5: expected a variable name but found '='"),
        ("{\"\u{e9}\": 1 ;}", "pushinator.conf:1:9: expected ',' or '}' but found ';'"),
        ("{a: \u{7}}", "pushinator.conf:1:5: expected a value but found control character U+0007"),
        ("", "pushinator.conf:1:1: expected a value but found end of file"),
        ("// only a comment\n", "pushinator.conf:2:1: expected a value but found end of file"),
    ])
    func reportsSyntaxErrorsWithPosition(input: String, expected: String) {
        #expect(parseError(input)?.description == expected)
    }

    @Test func reportsInvalidUTF8() {
        let bytes: [UInt8] = [0x7B, 0xFF, 0x7D]
        #expect(
            throws: ConfigError(
                source: "x.conf",
                line: 1,
                column: 2,
                message: "expected a key or '}' but found byte 0xFF (invalid UTF-8)"
            )
        ) {
            try reader.parse(bytes, source: "x.conf")
        }
        let inString: [UInt8] = Array("{a: '".utf8) + [0xC3] + Array("'}".utf8)
        #expect(throws: ConfigError(source: "x.conf", line: 1, column: 5, message: "string is not valid UTF-8")) {
            try reader.parse(inString, source: "x.conf")
        }
    }

    @Test func boundsNesting() throws {
        let deep = String(repeating: "[", count: 100_000)
        let error = try #require(parseError(deep))
        #expect(error.description == "pushinator.conf:1:65: arrays and objects nest deeper than 64 levels")
        let shallow = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try parse(shallow) }
    }

    @Test func reportsUnreadableFiles() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let missing = directory.file("missing.conf")
        #expect(throws: ConfigError(source: missing, message: "cannot open: No such file or directory")) {
            try reader.read(contentsOf: missing)
        }
        #expect(throws: ConfigError(source: directory.path, message: "cannot read: Is a directory")) {
            try reader.read(contentsOf: directory.path)
        }
        let big = try directory.write("big.conf", String(repeating: " ", count: 200) + "{}")
        #expect(throws: ConfigError(source: big, message: "file is larger than 100 bytes")) {
            try ConfigFileReader(maximumFileSize: 100).read(contentsOf: big)
        }
    }

    @Test func neverCrashesOnRandomTokenSoup() {
        let tokens = [
            "{", "}", "[", "]", ",", ":", ";", "=", "'", "\"", "\\", "\\u", "\\x", "\\u{", "/*", "*/", "//", "\n",
            "module", ".", "exports", "var", "x", "true", "null", "-", "+", "0x", "1", "e", "5.", " ", "\u{e9}",
            "\u{1F600}", "\0",
        ]
        var random = SplitMix64(state: 1)
        for _ in 0..<3000 {
            let count = Int.random(in: 0..<40, using: &random)
            let text = (0..<count).map { _ in tokens.randomElement(using: &random)! }.joined()
            _ = try? parse(text)
        }
    }

    @Test func neverCrashesOnMutatedSample() {
        let sample = Array(samplePushinatorConfig.utf8)
        var random = SplitMix64(state: 2)
        for _ in 0..<1500 {
            var bytes = sample
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let position = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
                default: bytes[position] = UInt8.random(in: 0...255, using: &random)
                }
            }
            _ = try? reader.parse(bytes, source: "fuzz")
        }
    }
}
