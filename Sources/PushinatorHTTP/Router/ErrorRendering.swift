import HTTPTypes
public import Logging

/// Turns thrown errors into responses.
public enum ErrorRendering {
    /// The response for `error`: its own rendering for ``HTTPResponseError``, otherwise a logged 500.
    public static func response(for error: any Error, request: Request, logger: Logger) -> Response {
        if let error = error as? any HTTPResponseError { return error.response(for: request) }
        logger.error(
            "request handler failed",
            metadata: ["http.path": "\(request.path)", "error.message": "\(error)", "error.type": "\(type(of: error))"]
        )
        return HTTPError(.internalServerError, message: "Internal Server Error").response(for: request)
    }
}
