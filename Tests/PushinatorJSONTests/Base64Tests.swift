import NIOCore
import PushinatorJSON
import Testing

@Suite("Base64")
struct Base64Tests {
    @Test(arguments: [
        ([UInt8](), ""),
        ([0x66], "Zg=="),
        ([0x66, 0x6F], "Zm8="),
        ([0x66, 0x6F, 0x6F], "Zm9v"),
        (Array("foobar".utf8), "Zm9vYmFy"),
        ([1, 2, 3, 4], "AQIDBA=="),
        ([0xFB, 0xFF, 0xBF], "+/+/"),
    ])
    func encodesAndDecodes(bytes: [UInt8], text: String) {
        #expect(Base64.encodeToString(ByteBuffer(bytes: bytes)) == text)
        var buffer = ByteBuffer()
        Base64.encode(ByteBuffer(bytes: bytes), into: &buffer)
        #expect(String(buffer: buffer) == text)
        #expect(Base64.decode(text) == ByteBuffer(bytes: bytes))
    }

    @Test func acceptsMissingPadding() {
        #expect(Base64.decode("Zg") == ByteBuffer(bytes: [0x66]))
        #expect(Base64.decode("Zm8") == ByteBuffer(bytes: [0x66, 0x6F]))
    }

    @Test(arguments: ["Z", "Zg=", "Zm9v!A==", "Zm=v", "Z===", "Zm9vY", "AQID BA=="])
    func rejectsMalformedText(text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
