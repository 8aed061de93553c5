import HTTPTypes
import Logging

/// The innermost step of a router: finds the route and calls it, rendering errors.
struct RouteDispatcher: HTTPResponder {
    let table: RouteTable

    func respond(to request: Request, context: RequestContext) async throws -> Response {
        var context = context
        do {
            switch try Self.resolve(table.match(method: request.method, path: context.remainingPath), request: request, context: &context) {
            case .handler(let handler):
                return try await handler.responder.respond(to: request, context: context)
            case .response(let response):
                return response
            }
        } catch {
            return ErrorRendering.response(for: error, request: request, logger: context.logger)
        }
    }

    enum Resolution {
        case handler(RouteTable.Handler)
        case response(Response)
    }

    /// The handler for a match, with its parameters put into `context`; or the router's own answer
    /// (OPTIONS), or a thrown 404/405.
    static func resolve(_ match: RouteTable.Match, request: Request, context: inout RequestContext) throws -> Resolution {
        switch match {
        case .found(let handler, let values, let catchAll, let remainingPath):
            if !values.isEmpty || catchAll != nil {
                for (name, value) in zip(handler.parameterNames, values) { context.parameters.append(name, value) }
                context.parameters.catchAll = catchAll
            }
            if let remainingPath { context.remainingPath = remainingPath }
            return .handler(handler)
        case .methodNotAllowed(let allowed):
            let allow = allowed.map(\.rawValue).joined(separator: ", ")
            if request.method == .options {
                return .response(Response(status: .noContent, headers: [.allow: allow]))
            }
            throw HTTPError(.methodNotAllowed, message: "Method Not Allowed", headers: [.allow: allow])
        case .notFound:
            throw HTTPError(.notFound, message: "Not Found")
        }
    }
}
