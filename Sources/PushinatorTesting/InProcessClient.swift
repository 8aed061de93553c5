import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PushinatorHTTP

/// Calls the responder directly with a ``PushinatorHTTP/Request`` built from the arguments, as the server would:
/// errors are rendered the server's way and streamed bodies are collected.
struct InProcessClient: TestClient {
    let responder: any HTTPResponder
    let logger: Logger

    func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields,
        body: ByteBuffer?
    ) async throws -> TestResponse {
        var fields = headers
        if let body, fields[.contentLength] == nil { fields[.contentLength] = "\(body.readableBytes)" }
        let head = HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path, headerFields: fields)
        let request = Request(head: head, body: RequestBody(buffer: body ?? ByteBuffer()))
        var context = RequestContext(logger: logger, eventLoop: MultiThreadedEventLoopGroup.singleton.next())
        context.remainingPath = request.path
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch {
            response = ErrorRendering.response(for: error, request: request, logger: logger)
        }
        return TestResponse(status: response.status, headers: response.headers, body: try await Self.collect(response.body))
    }

    /// The whole body, a streamed one written part by part.
    static func collect(_ body: ResponseBody) async throws -> ByteBuffer {
        if let buffer = body.buffer { return buffer }
        let collected = NIOLockedValueBox(ByteBuffer())
        var writer = ResponseBodyWriter { part in
            var part = part
            collected.withLockedValue { _ = $0.writeBuffer(&part) }
        }
        try await body.write(to: &writer)
        return collected.withLockedValue { $0 }
    }
}
