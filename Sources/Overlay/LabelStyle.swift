/// Which corner of the frame carries the visible label (`--label-position`).
public enum LabelPosition: String, Sendable, Hashable, CaseIterable {
    case topRight = "top-right"
    case topLeft = "top-left"
    case bottomRight = "bottom-right"
    case bottomLeft = "bottom-left"

    var isRight: Bool { self == .topRight || self == .bottomRight }
    var isBottom: Bool { self == .bottomRight || self == .bottomLeft }
}

/// What the visible label says, how tall it is and where it goes: the `--label-*` and `--font` options.
public struct LabelStyle: Sendable, Hashable {
    /// GB 45438's visible label in Chinese and English.
    public static let defaultText = "AI生成 · AI-generated"
    /// LABELS.md: glyph height at least 5% of the frame's short side, whatever the options say.
    public static let minimumHeightFraction = 0.05

    /// The label text; `\n` forces a line break, long text wraps at spaces and between CJK characters.
    public var text: String
    /// Glyph height as a fraction of the frame's short side. Values below
    /// ``minimumHeightFraction`` (or not finite) are raised to it when laid out.
    public var heightFraction: Double
    public var position: LabelPosition
    /// A font file to draw with first; characters it lacks still fall back to fontconfig's fonts.
    public var fontFile: String?

    public init(
        text: String = LabelStyle.defaultText,
        heightFraction: Double = LabelStyle.minimumHeightFraction,
        position: LabelPosition = .topRight,
        fontFile: String? = nil
    ) {
        self.text = text
        self.heightFraction = heightFraction
        self.position = position
        self.fontFile = fontFile
    }

    /// ``heightFraction`` as it is applied: at least 5%, at most the whole short side.
    public var effectiveHeightFraction: Double {
        guard heightFraction.isFinite else { return Self.minimumHeightFraction }
        return min(1, max(Self.minimumHeightFraction, heightFraction))
    }
}
