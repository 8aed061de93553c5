public import HTTPTypes
import PushinatorJSON

/// Why a request could not be forwarded: rendered as 502 (the upstream failed), 503 (too many requests in flight
/// to it) or 504 (it did not answer in time), with a JSON body.
public struct HTTPForwardingError: HTTPResponseError, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Reason: Sendable, Hashable {
        /// The connection could not be made (refused, unreachable, connect timeout).
        case connectFailed
        /// The connection failed or closed before the whole response arrived, or the response was not HTTP/1.1.
        case upstreamFailed
        /// No response within the timeout.
        case timedOut
        /// The response body was larger than the limit.
        case responseTooLarge
        /// ``HTTPForwardingClient/Configuration/maxInFlightPerUpstream`` requests were already in flight.
        case tooManyInFlight
    }

    /// What went wrong.
    public let reason: Reason
    /// The upstream, as `host:port`.
    public let upstream: String

    /// Creates an error.
    public init(_ reason: Reason, upstream: String) {
        self.reason = reason
        self.upstream = upstream
    }

    /// The status of the answer: 502, 503 or 504.
    public var status: HTTPResponse.Status {
        switch reason {
        case .connectFailed, .upstreamFailed, .responseTooLarge: .badGateway
        case .timedOut: .gatewayTimeout
        case .tooManyInFlight: .serviceUnavailable
        }
    }

    public var description: String {
        switch reason {
        case .connectFailed: "cannot connect to \(upstream)"
        case .upstreamFailed: "\(upstream) closed the connection before answering"
        case .timedOut: "\(upstream) did not answer in time"
        case .responseTooLarge: "the response of \(upstream) is over the size limit"
        case .tooManyInFlight: "too many requests in flight to \(upstream)"
        }
    }

    /// `{"error": "Forwarding failed: …"}` with ``status``.
    public func response(for request: Request) -> Response {
        .json(["error": .string("Forwarding failed: \(description)")], status: status)
    }
}
