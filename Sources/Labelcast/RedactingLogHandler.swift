import Logging

/// Wraps a log handler so every message and metadata value passes through `Redaction.text`
/// first: a secret interpolated into a log line anywhere in the program (an error quoting a
/// URL, a library's message) is removed before it is written.
public struct RedactingLogHandler<Wrapped: LogHandler>: LogHandler {
    public var wrapped: Wrapped

    public init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    public func log(event: LogEvent) {
        var redacted = event
        redacted.message = "\(Redaction.text(event.message.description))"
        redacted.metadata = event.metadata?.mapValues { .string(Redaction.text($0.description)) }
        wrapped.log(event: redacted)
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }
    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }
    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
}
