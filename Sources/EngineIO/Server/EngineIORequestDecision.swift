/// The answer of an `allowRequest` hook.
public struct EngineIORequestDecision: Sendable {
    let refusal: String?

    /// Let the handshake proceed.
    public static var allow: Self { .init(refusal: nil) }
    /// Refuse it with 403 and this message.
    public static func refuse(_ message: String) -> Self { .init(refusal: message) }
}
