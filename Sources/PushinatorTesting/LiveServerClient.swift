import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import PushinatorHTTP

/// Runs an ``PushinatorHTTP/HTTPServer`` on 127.0.0.1 (free port) for the duration of a test and sends each request
/// over a new HTTP/1.1 connection to it.
struct LiveServerClient: TestClient {
    var host = "127.0.0.1"
    let port: Int

    static func run(
        responder: some HTTPResponder,
        configuration: HTTPServerConfiguration,
        logger: Logger,
        _ body: (any TestClient) async throws -> Void
    ) async throws {
        let server = HTTPServer(
            responder: responder,
            listeners: [Listener(.hostname("127.0.0.1", port: 0))],
            configuration: configuration,
            logger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            defer { group.cancelAll() }
            let port = await server.listeningAddresses.first?.port ?? 0
            try await body(LiveServerClient(port: port))
        }
    }

    func execute(
        _ method: HTTPRequest.Method,
        _ path: String,
        headers: HTTPFields,
        body: ByteBuffer?
    ) async throws -> TestResponse {
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: TestResponse.self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)  // never leak the promise (NIO traps on a leaked one)
            throw error
        }
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: path)
        head.headers.add(name: "Host", value: "\(host):\(port)")
        for field in headers { head.headers.add(name: field.name.rawName, value: field.value) }
        if let body, !head.headers.contains(name: "content-length") {
            head.headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        }
        head.headers.replaceOrAdd(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        return try await promise.futureResult.get()
    }
}

/// Collects one response and completes its promise with it.
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<TestResponse>
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()
    private var completed = false

    init(promise: EventLoopPromise<TestResponse>) {
        self.promise = promise
    }

    private func complete(_ result: Result<TestResponse, any Error>) {
        guard !completed else { return }
        completed = true
        promise.completeWith(result)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let received):
            head = received
        case .body(var bytes):
            body.writeBuffer(&bytes)
        case .end:
            guard let head else { return }
            var fields = HTTPFields()
            for (name, value) in head.headers {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            let status = HTTPResponse.Status(code: Int(head.status.code), reasonPhrase: head.status.reasonPhrase)
            complete(.success(TestResponse(status: status, headers: fields, body: body)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        complete(.failure(ChannelError.ioOnClosedChannel))  // ignored once the response is complete
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        complete(.failure(error))
        context.close(promise: nil)
    }
}
