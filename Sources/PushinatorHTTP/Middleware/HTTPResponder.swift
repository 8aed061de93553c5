/// Something that answers requests: a route handler, a router, a mounted protocol server.
public protocol HTTPResponder: Sendable {
    /// Produces the response to `request`.
    func respond(to request: Request, context: RequestContext) async throws -> Response
}
