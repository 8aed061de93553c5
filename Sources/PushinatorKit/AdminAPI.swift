import HTTPTypes
import NIOCore
public import PushinatorHTTP
public import PushinatorJSON

/// Reading and answering admin API requests the way node pushinator does.
///
/// Bodies are JSON whatever the `Content-Type` (`curl -d` sends form encoding); answers are JSON objects whose
/// last key is `"status"`.
public enum AdminAPI {
    /// The request body as a JSON object; anything else is a 400 `Not A JSON Body: ...`.
    public static func body(of request: Request) throws -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: request.body.buffer)
        } catch {
            throw HTTPError(.badRequest, message: "Not A JSON Body: \(error)")
        }
        guard case .object(let object) = value else {
            throw HTTPError(.badRequest, message: "Not A JSON Body: expected an object, found \(value.kindName)")
        }
        return object
    }

    /// A user id from a number or a string (`5` and `"5"` are the same user); `nil` when absent or unusable.
    public static func userID(_ value: JSONValue?) -> String? {
        switch value {
        case .integer(let number): String(number)
        case .double(let number) where number.rounded() == number && abs(number) < 1e15: String(Int(number))
        case .string(let text) where !text.isEmpty: text
        default: nil
        }
    }

    /// A 400 for missing fields, echoing the body as node pushinator did.
    public static func missing(_ message: String, body: JSONObject) -> HTTPError {
        HTTPError(.badRequest, message: message, details: ["data": .object(body)])
    }

    /// A 200 `{"result":"OK", ...extra, "status":200}`; keys of `extra` named `result` or `status` are ignored.
    ///
    /// Written straight into the body (no intermediate object); without `extra` the same pre-encoded answer is
    /// returned every time.
    public static func ok(_ extra: JSONObject = [:]) -> Response {
        if extra.isEmpty { return plainOK }
        var body = ByteBuffer()
        body.reserveCapacity(64)
        body.writeStaticString(#"{"result":"OK""#)
        for (key, value) in extra where key != "result" && key != "status" {
            body.writeStaticString(",")
            JSONValue.string(key).write(to: &body)
            body.writeStaticString(":")
            value.write(to: &body)
        }
        body.writeStaticString(#","status":200}"#)
        return Response(headers: Response.jsonFields, body: .buffer(body))
    }

    private static let plainOK = Response(
        headers: Response.jsonFields,
        body: .buffer(ByteBuffer(staticString: #"{"result":"OK","status":200}"#))
    )
}
