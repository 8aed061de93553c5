import Foundation

/// A parsed HTTP response.
package struct RawResponse: Sendable {
    package var statusLine = ""
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    package var chunked: Bool

    package var text: String { String(decoding: body, as: UTF8.self) }

    /// The first value of header `name` (case-insensitive).
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Every value of header `name`.
    package func headers(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    package static func parse(_ bytes: [UInt8], closed: Bool, isHead: Bool) throws -> (RawResponse, Int)? {
        guard let headEnd = find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let headText = String(decoding: bytes[..<headEnd], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let firstLine = lines.removeFirst()
        let statusLine = firstLine.split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else {
            throw TestFailure("bad status line in \(headText)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = RawResponse(statusLine: firstLine, status: status, headers: headers, body: [], chunked: false)
        var position = headEnd + 4
        if isHead || status == 204 || status == 304 || (100..<200).contains(status) {
            return (response, position)
        }
        if let length = response.header("content-length").flatMap(Int.init) {
            guard bytes.count >= position + length else { return nil }
            response.body = Array(bytes[position..<position + length])
            return (response, position + length)
        }
        if response.header("transfer-encoding")?.lowercased() == "chunked" {
            response.chunked = true
            while true {
                guard let lineEnd = find([13, 10], in: bytes, from: position) else { return nil }
                let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";")[0], radix: 16) else {
                    throw TestFailure("bad chunk size \(sizeText)")
                }
                let dataStart = lineEnd + 2
                if size == 0 {
                    guard let end = find([13, 10], in: bytes, from: dataStart) else { return nil }  // no trailers
                    return (response, end + 2)
                }
                guard bytes.count >= dataStart + size + 2 else { return nil }
                response.body.append(contentsOf: bytes[dataStart..<dataStart + size])
                position = dataStart + size + 2
            }
        }
        guard closed else { return nil }
        response.body = Array(bytes[position...])
        return (response, bytes.count)
    }
}

/// The index of the first `needle` in `haystack` at or after `start`.
func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
    var index = start
    while index <= haystack.count - needle.count {
        if haystack[index] == needle[0], Array(haystack[index..<index + needle.count]) == needle { return index }
        index += 1
    }
    return nil
}
