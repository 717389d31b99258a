/// A C2PA step that failed, with what failed and, when the reference implementation said
/// why, its words. `description` is one line a user can act on.
public struct C2PAError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, for callers that react differently (tests, the CLI's wording).
    public enum Kind: Sendable, Equatable {
        /// libc2pa_c could not be found or loaded.
        case libraryUnavailable
        /// A certificate or key file is missing, unreadable or not what it should be.
        case credentials
        /// The output's container cannot carry a manifest.
        case unsupportedContainer
        /// The reference implementation refused to sign or read.
        case library
        /// Reading or writing the media file failed.
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}
