import HTTPTypes
import Mustache
import NIOCore
import PushinatorHTTP
import PushinatorJSON

/// The live status page of the admin listener (`GET /`), rendered from `Templates/status.mustache` with
/// swift-mustache. The template is compiled into the binary (SwiftPM `embedInCode`), so an installed `pushinator`
/// needs no file beside it. The page polls `GET /status` (JSON, the same ``StatusSnapshot``) every few seconds.
enum StatusPage {
    /// How often the page polls `GET /status`, in seconds.
    static let refreshSeconds = 2

    /// The parsed template; a template that does not parse is a bug of ours, answered as a 500 with the reason.
    static let template: Result<MustacheTemplate, any Error> = Result {
        try MustacheTemplate(string: String(decoding: PackageResources.status_mustache, as: UTF8.self))
    }

    /// Renders the page for `snapshot`.
    static func render(_ snapshot: StatusSnapshot) throws -> String {
        switch template {
        case .success(let template):
            return template.render(snapshot.templateContext(refreshSeconds: refreshSeconds))
        case .failure(let error):
            throw HTTPError(.internalServerError, message: "status page template: \(error)")
        }
    }

    /// Headers of the page: not cached, not framed, scripts and styles only from the page itself.
    static let headers: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
        .xContentTypeOptions: "nosniff",
    ]

    /// The `GET /` response.
    static func response(_ app: PushApp) throws -> Response {
        Response(headers: headers, body: .string(try render(StatusSnapshot(app))))
    }

    /// The `GET /status` response.
    static func json(_ app: PushApp) -> Response {
        var response = Response.json(.object(StatusSnapshot(app).json))
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
