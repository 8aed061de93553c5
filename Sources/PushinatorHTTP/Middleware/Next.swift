/// The rest of the pipeline after a middleware.
public struct Next: Sendable {
    let responder: any HTTPResponder

    /// Passes the request on and returns the response of the rest of the pipeline.
    public func callAsFunction(_ request: Request, _ context: RequestContext) async throws -> Response {
        try await responder.respond(to: request, context: context)
    }
}
