/// Why the visible label cannot be drawn. `description` is one line that names what is wrong
/// and what to do, fit for stderr.
public struct OverlayError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure; compare with the static members (more may be added).
    public struct Kind: Sendable, Hashable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// No installed font (nor `--font`) has a glyph for a character of the text.
        public static let uncoveredCharacter = Kind("uncoveredCharacter")
        /// The `--font` file cannot be opened by FreeType.
        public static let fontUnreadable = Kind("fontUnreadable")
        /// FreeType or fontconfig failed to start or to draw a glyph.
        public static let fontEngine = Kind("fontEngine")
        /// The label text has nothing to draw.
        public static let emptyText = Kind("emptyText")
        /// A word (or the label's lines together) does not fit inside the frame.
        public static let labelDoesNotFit = Kind("labelDoesNotFit")
        /// The frame's size, planes or line sizes do not match what the label was laid out for.
        public static let invalidFrame = Kind("invalidFrame")
        /// An option breaks the chosen label profile's rules (mode, corner, wording, timing).
        public static let ruleViolation = Kind("ruleViolation")
        /// The `--label-image` file cannot be read as a PNG or SVG.
        public static let badgeUnreadable = Kind("badgeUnreadable")
        /// The badge cannot be shown with its text at the profile's minimum height.
        public static let badgeTooSmall = Kind("badgeTooSmall")
        /// The pixel layout is one the blender does not handle.
        public static let unsupportedPixelLayout = Kind("unsupportedPixelLayout")
    }

    public let kind: Kind
    public let message: String
    /// For ``Kind/uncoveredCharacter``: the character no font covers.
    public let character: Unicode.Scalar?

    init(_ kind: Kind, _ message: String, character: Unicode.Scalar? = nil) {
        self.kind = kind
        self.message = message
        self.character = character
    }

    public var description: String { message }

    static func uncoveredCharacter(_ scalar: Unicode.Scalar) -> OverlayError {
        let shown = scalar.properties.generalCategory == .privateUse || scalar.value < 0x20 ? "" : "\"\(scalar)\" "
        return OverlayError(
            .uncoveredCharacter,
            "label text: no installed font has a glyph for \(shown)(\(scalar.codePointString)); "
                + "install a font that covers it or pass --font FILE, or change --label-text",
            character: scalar
        )
    }

    static func fontUnreadable(_ path: String, freetypeError: Int32) -> OverlayError {
        OverlayError(.fontUnreadable, "--font \(path): FreeType cannot open it as a font (error \(freetypeError)); pass a .ttf/.otf/.ttc file")
    }

    static func fontEngine(_ what: String) -> OverlayError {
        OverlayError(.fontEngine, "label font engine: \(what)")
    }

    static let emptyText = OverlayError(.emptyText, "label text is empty; pass a --label-text that says the content is AI-generated")

    static func wordTooWide(_ word: String, needs: Int, available: Int, frameWidth: Int, frameHeight: Int, canShrink: Bool) -> OverlayError {
        OverlayError(
            .labelDoesNotFit,
            "label: \"\(word)\" needs \(needs) px but a \(frameWidth)x\(frameHeight) frame leaves \(available) px; "
                + (canShrink ? "use a shorter --label-text (or spaces to let it wrap) or a smaller --label-height" : "use a shorter --label-text, or spaces to let it wrap")
        )
    }

    static func tooManyLines(_ lines: Int, needs: Int, available: Int, frameWidth: Int, frameHeight: Int, canShrink: Bool) -> OverlayError {
        OverlayError(
            .labelDoesNotFit,
            "label: \(lines) lines need \(needs) px of height but a \(frameWidth)x\(frameHeight) frame leaves \(available) px; "
                + (canShrink ? "use a shorter --label-text or a smaller --label-height" : "use a shorter --label-text")
        )
    }

    /// A one-line error for an option that breaks a profile rule or conflicts with another option.
    public static func ruleViolation(_ message: String) -> OverlayError {
        OverlayError(.ruleViolation, message)
    }

    static func badgeUnreadable(_ path: String, _ why: String) -> OverlayError {
        OverlayError(.badgeUnreadable, "--label-image \(path): \(why); pass a PNG with alpha or an SVG file")
    }

    static func badgeTooSmall(_ message: String) -> OverlayError {
        OverlayError(.badgeTooSmall, message)
    }

    static func invalidFrame(_ what: String) -> OverlayError {
        OverlayError(.invalidFrame, "label: \(what)")
    }

    static func unsupportedPixelLayout(_ layout: PixelLayout) -> OverlayError {
        OverlayError(.unsupportedPixelLayout, "label: cannot blend onto \(layout); supported: 8- to 16-bit YUV, chroma subsampled by at most 2")
    }
}

extension Unicode.Scalar {
    /// "U+4E00" style, at least four hex digits.
    var codePointString: String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}
