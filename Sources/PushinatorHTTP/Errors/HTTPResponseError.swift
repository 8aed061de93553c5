/// An error that knows how to render itself as a response; ``HTTPError`` is the common one.
public protocol HTTPResponseError: Error {
    /// The response to send for this error.
    func response(for request: Request) -> Response
}
