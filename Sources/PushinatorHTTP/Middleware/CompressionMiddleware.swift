import CompressNIO
import HTTPTypes
import Logging
import NIOCore

/// Compresses response bodies with gzip or deflate when the client accepts it.
///
/// A response is compressed when its body is in memory and at least ``minimumSize`` bytes, its status allows a
/// body (not 1xx, 204, 304, 206), it has no `Content-Encoding` yet, its content type is worth compressing (not
/// images, audio, video, fonts already compressed, archives), and `Accept-Encoding` accepts `gzip` or `deflate`
/// (q-values respected; `*` counts; `gzip;q=0` refuses gzip). Streamed bodies pass unchanged. Compressed
/// responses get `Content-Encoding` and a new `Content-Length`; every compressible response gets
/// `Vary: Accept-Encoding`, so caches keep the variants apart.
///
/// ```swift
/// let router = Router {
///     CompressionMiddleware(minimumSize: 1024)
///     Get("report") { _, _ in JSONResponse(bigReport) }
/// }
/// ```
public struct CompressionMiddleware: SynchronousMiddleware {
    /// The smallest body that is compressed, in bytes. Default 1024: below it, the headers of compression cost
    /// more than they save.
    public var minimumSize: Int
    /// The zlib compression level, 1 (fastest) to 9 (smallest). Default 6.
    public var level: Int32

    /// Creates the middleware.
    /// - Parameters:
    ///   - minimumSize: The smallest body that is compressed, in bytes.
    ///   - level: The zlib compression level, 1 (fastest) to 9 (smallest).
    public init(minimumSize: Int = 1024, level: Int32 = 6) {
        self.minimumSize = minimumSize
        self.level = min(max(level, 1), 9)
    }

    public func handleRequest(_ request: Request, context: inout RequestContext) throws -> Response? { nil }

    public func handleResponse(_ response: inout Response, request: Request, context: RequestContext) {
        guard case .buffer(var body) = response.body.storage,
            Self.mayCompress(status: response.status.code),
            response.headers[.contentEncoding] == nil,
            response.headers[.contentType].map(Self.isCompressible) ?? true
        else {
            return
        }
        guard body.readableBytes >= minimumSize else { return }
        response.headers.append(HTTPField(name: .vary, value: "Accept-Encoding"))
        guard let encoding = Self.preferredEncoding(request.headers[values: .acceptEncoding]) else { return }
        let configuration = ZlibConfiguration(compressionLevel: level)
        let algorithm: CompressionAlgorithm =
            encoding == "gzip" ? .gzip(configuration: configuration) : .zlib(configuration: configuration)
        let compressor = algorithm.compressor
        do {
            try compressor.startStream()
            defer { try? compressor.finishStream() }
            var compressed = ByteBufferAllocator().buffer(capacity: compressor.maxSize(from: body))
            try compressor.streamDeflate(from: &body, to: &compressed, flush: .finish)
            response.body = .buffer(compressed)
        } catch {
            context.logger.debug("response compression failed", metadata: ["error.message": "\(error)"])
            return
        }
        response.headers[.contentEncoding] = encoding
        response.headers[.contentLength] = nil  // the server sets the compressed length
    }

    static func mayCompress(status: Int) -> Bool {
        status >= 200 && status != 204 && status != 206 && status != 304
    }

    /// Whether a body of `contentType` is worth compressing.
    static func isCompressible(_ contentType: String) -> Bool {
        let type = contentType.split(separator: ";", maxSplits: 1)[0].trimmingSpaces.lowercased()
        if type.hasSuffix("+json") || type.hasSuffix("+xml") { return true }
        if type.hasPrefix("image/") || type.hasPrefix("audio/") || type.hasPrefix("video/") { return false }
        switch type {
        case "font/woff", "font/woff2", "application/zip", "application/gzip", "application/x-gzip",
            "application/zstd", "application/x-7z-compressed", "application/x-rar-compressed", "application/x-bzip2",
            "application/x-xz", "application/pdf", "application/wasm":
            return false
        default:
            return true
        }
    }

    /// The encoding to use for an `Accept-Encoding` header: `gzip`, `deflate`, or `nil` for none.
    ///
    /// gzip wins ties; an explicit `q=0` refuses an encoding even when `*` is accepted.
    static func preferredEncoding(_ fields: [String]) -> String? {
        var gzip: Double?
        var deflate: Double?
        var wildcard: Double?
        for field in fields {
            for item in field.split(separator: ",") {
                let parts = item.split(separator: ";")
                guard let first = parts.first else { continue }
                let coding = first.trimmingSpaces.lowercased()
                var quality = 1.0
                for parameter in parts.dropFirst() {
                    let pair = parameter.trimmingSpaces
                    if pair.lowercased().hasPrefix("q="), let value = Double(pair.dropFirst(2)) { quality = value }
                }
                switch coding {
                case "gzip", "x-gzip": gzip = quality
                case "deflate": deflate = quality
                case "*": wildcard = quality
                default: break
                }
            }
        }
        let gzipQuality = gzip ?? wildcard ?? 0
        let deflateQuality = deflate ?? wildcard ?? 0
        if gzipQuality > 0, gzipQuality >= deflateQuality { return "gzip" }
        if deflateQuality > 0 { return "deflate" }
        return nil
    }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        let trimmed = drop(while: { $0 == " " || $0 == "\t" })
        var end = trimmed.endIndex
        while end > trimmed.startIndex, trimmed[trimmed.index(before: end)] == " " || trimmed[trimmed.index(before: end)] == "\t" {
            end = trimmed.index(before: end)
        }
        return Substring(trimmed[trimmed.startIndex..<end])
    }
}
