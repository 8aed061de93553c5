import Logging

/// Text rendering shared by the log handlers.
enum LogRendering {
    /// Merges provider, handler and event metadata (later wins) and renders ` key=value` pairs sorted by key.
    static func metadataSuffix(
        handler: Logger.Metadata,
        provider: Logger.MetadataProvider?,
        event: Logger.Metadata?
    ) -> String {
        var merged = handler
        if let provided = provider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let event, !event.isEmpty {
            merged.merge(event) { _, new in new }
        }
        guard !merged.isEmpty else { return "" }
        var result = ""
        for key in merged.keys.sorted() {
            result += " \(key)=\(quoteIfNeeded(merged[key]!.description))"
        }
        return result
    }

    /// `text`, in double quotes with `"` and `\` escaped when it is empty or has spaces, `=` or quotes.
    static func quoteIfNeeded(_ text: String) -> String {
        let needsQuotes =
            text.isEmpty || text.contains(where: { $0 == " " || $0 == "=" || $0 == "\"" || $0.isNewline || $0 == "\t" })
        guard needsQuotes else { return text }
        var result = "\""
        for character in text {
            switch character {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            default: result.append(character)
            }
        }
        return result + "\""
    }
}
