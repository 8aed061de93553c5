// Fuzzes the request parsing PushinatorHTTP does itself: the request target split into path and query, query
// and cookie percent-decoding, and route matching in the compiled trie (static, `:param`, `*`, `**`, mounts).
import FuzzSupport
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
@testable import PushinatorHTTP

struct Nothing: HTTPResponder {
    func respond(to request: Request, context: RequestContext) async throws -> Response { Response(status: .ok) }
}

let table: RouteTable = {
    var table = RouteTable()
    let patterns: [(HTTPRequest.Method, String)] = [
        (.get, "healthz"), (.get, "rooms/:room"), (.post, "rooms/:room/messages"), (.get, "rooms/:room/*/x"),
        (.get, "files/**"), (.delete, "files/:name"), (.get, "{a}/{b}/{c}"), (.put, "user/register"),
        (.get, "*"), (.options, "rooms/**"),
    ]
    for (method, pattern) in patterns {
        table.add(method: method, pattern: pattern.split(separator: "/"), responder: Nothing())
    }
    table.mount(pattern: ["socket.io"], responder: Nothing())
    table.mount(pattern: ["mount", ":id"], responder: Nothing())
    return table
}()

let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .delete, .options, .patch]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPRequest(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let text = String(decoding: input.dropFirst(), as: UTF8.self)

    // the target as the server sees it
    let head = HTTPRequest(method: methods[Int(selector) % methods.count], scheme: nil, authority: nil, path: text)
    let request = Request(head: head)
    for (key, value) in request.query { _ = key.utf8.count + value.utf8.count }
    _ = request.query["EIO"]
    _ = request.query.all("t")
    _ = request.query.get("n", as: Int.self)
    switch table.match(method: request.method, path: request.path) {
    case .found(let handler, let values, let catchAll, let remaining):
        precondition(values.count <= handler.parameterNames.count, "more values than parameters")
        _ = (catchAll, remaining)
    case .methodNotAllowed(let allowed):
        precondition(!allowed.isEmpty, "405 without an Allow list")
    case .notFound:
        break
    }

    // the same bytes as Cookie fields
    var fields = HTTPFields()
    for line in text.split(separator: "\n") { fields.append(HTTPField(name: .cookie, value: String(line))) }
    let cookies = Cookies(headers: fields)
    _ = cookies["io"]
    _ = cookies.count
    return 0
}

@_cdecl("FuzzHTTPRequest_main")
public func main(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzHTTPRequest)
}
