import HTTPTypes
import PushinatorHTTP
import Testing

@Suite("Trusted proxies")
struct TrustedProxiesTests {
    static func headers(_ fields: [(String, String)]) -> HTTPFields {
        var headers = HTTPFields()
        for (name, value) in fields { headers.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return headers
    }

    @Test func aPeerThatIsNotTrustedIsTheClientWhateverItsHeadersSay() throws {
        let proxies = try TrustedProxies(["127.0.0.1"])
        let spoofed = Self.headers([("X-Forwarded-For", "10.9.9.9"), ("Forwarded", "for=10.8.8.8")])
        #expect(proxies.clientAddress(peer: "192.0.2.7", headers: spoofed) == "192.0.2.7")
    }

    @Test func withNoTrustedProxyTheHeadersAreIgnored() {
        let headers = Self.headers([("X-Forwarded-For", "10.9.9.9")])
        #expect(TrustedProxies.none.clientAddress(peer: "127.0.0.1", headers: headers) == "127.0.0.1")
    }

    @Test func aTrustedPeerNamesTheClientInXForwardedFor() throws {
        let proxies = try TrustedProxies(["127.0.0.1"])
        let headers = Self.headers([("X-Forwarded-For", "203.0.113.5")])
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers) == "203.0.113.5")
    }

    @Test func theChainIsWalkedFromTheRightSkippingTrustedHops() throws {
        let proxies = try TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
        // The client wrote 6.6.6.6 itself; the edge proxy 10.1.2.3 appended the real address 203.0.113.5.
        let headers = Self.headers([("X-Forwarded-For", "6.6.6.6, 203.0.113.5"), ("X-Forwarded-For", "10.1.2.3")])
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers) == "203.0.113.5")
    }

    @Test func forwardedWinsOverXForwardedForAndItsQuotedIPv6FormIsRead() throws {
        let proxies = try TrustedProxies(["::1"])
        let headers = Self.headers([
            ("Forwarded", "for=192.0.2.60;proto=https, for=\"[2001:db8:cafe::17]:4711\""),
            ("X-Forwarded-For", "198.51.100.1"),
        ])
        #expect(proxies.clientAddress(peer: "::1", headers: headers) == "2001:db8:cafe::17")
    }

    @Test func anUnparsableEntryStopsAtTheLastTrustedHop() throws {
        let proxies = try TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
        let headers = Self.headers([("X-Forwarded-For", "203.0.113.5, unknown, 10.0.0.2")])
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: headers) == "10.0.0.2")
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: HTTPFields()) == "127.0.0.1")
    }

    @Test func portsAreStripped() throws {
        let proxies = try TrustedProxies(["127.0.0.1"])
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: Self.headers([("X-Forwarded-For", "203.0.113.5:5555")])) == "203.0.113.5")
        #expect(proxies.clientAddress(peer: "127.0.0.1", headers: Self.headers([("X-Forwarded-For", "[2001:db8::1]:80")])) == "2001:db8::1")
    }

    @Test func rangesMatchByPrefixAndMappedIPv4MatchesIPv4() throws {
        let proxies = try TrustedProxies(["10.0.0.0/8", "172.16.0.0/12", "fd00::/8", "192.168.1.1"])
        #expect(proxies.contains("10.255.0.1"))
        #expect(proxies.contains("172.31.255.255"))
        #expect(!proxies.contains("172.32.0.1"))
        #expect(proxies.contains("fd12::1"))
        #expect(!proxies.contains("fe80::1"))
        #expect(proxies.contains("::ffff:10.1.1.1"))
        #expect(proxies.contains("192.168.1.1"))
        #expect(!proxies.contains("192.168.1.2"))
        #expect(!proxies.contains("not-an-address"))
        // an IPv6 range never trusts an IPv4 peer, even one whose mapped form it covers; spaces around entries go
        let everyIPv6 = try TrustedProxies(["::/0", " 10.0.0.0/8 "])
        #expect(!everyIPv6.contains("192.0.2.1"))
        #expect(everyIPv6.contains("2001:db8::1"))
        #expect(everyIPv6.contains("10.0.0.1"))
    }

    @Test func badEntriesAreRefusedWithTheirText() {
        #expect(throws: TrustedProxiesError(entry: "10.0.0.0/33")) { try TrustedProxies(["10.0.0.0/33"]) }
        #expect(throws: TrustedProxiesError(entry: "proxy.example.com")) { try TrustedProxies(["proxy.example.com"]) }
    }
}

@Suite("IP address text")
struct IPAddressTextTests {
    @Test(arguments: [
        "1.2.3.4", "255.255.255.255", "::1", "::", "2001:db8::1", "fe80::1%eth0", "::ffff:10.1.2.3",
        "2001:0db8:0000:0000:0000:ff00:0042:8329", "1::", "1:2:3:4:5:6:7::",
    ])
    func validAddressesAreTrustable(_ text: String) throws {
        #expect(try TrustedProxies([text]).contains(text))
    }

    @Test(arguments: [
        "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.a", "", ":::", "1::2::3", "12345::1", "::g",
        "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "localhost",
    ])
    func invalidAddressesAreRefused(_ text: String) {
        #expect(throws: TrustedProxiesError.self) { try TrustedProxies([text]) }
    }
}
