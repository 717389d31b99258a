import Foundation

/// Which corner of the frame carries the visible label (`--label-position`).
public enum LabelPosition: String, Sendable, Hashable, CaseIterable {
    case topRight = "top-right"
    case topLeft = "top-left"
    case bottomRight = "bottom-right"
    case bottomLeft = "bottom-left"

    var isRight: Bool { self == .topRight || self == .bottomRight }
    var isBottom: Bool { self == .bottomRight || self == .bottomLeft }
}

/// How the label's box looks: GB 45438's translucent box, or the EU code's icon-style badge
/// (a near-opaque box with a white frame, so it reads as an icon rather than a caption).
public struct LabelLook: Sendable, Hashable {
    /// Opacity of the black box behind the text, 0...1.
    public var boxOpacity: Double
    /// A white frame round the box, about 1/12 of the text height thick.
    public var outline: Bool

    public init(boxOpacity: Double = LabelSprite.defaultBoxOpacity, outline: Bool = false) {
        self.boxOpacity = boxOpacity
        self.outline = outline
    }

    public static let caption = LabelLook()
    public static let euIcon = LabelLook(boxOpacity: 0.85, outline: true)
}

/// An operator's own badge (`--label-image`): a PNG with alpha or an SVG, scaled so the text in
/// it is at least as tall as the profile's minimum.
public struct LabelImage: Sendable, Hashable {
    public var path: String
    /// Height of the badge's text as a fraction of the image's height (`--label-image-text-height`);
    /// nil: measured from the alpha channel (the rows holding opaque pixels).
    public var textHeightFraction: Double?

    public init(path: String, textHeightFraction: Double? = nil) {
        self.path = path
        self.textHeightFraction = textHeightFraction
    }

    /// SVG by its extension or by an `<svg`/`<?xml` opening; anything else is read as PNG.
    public var isSVG: Bool {
        let lower = path.lowercased()
        if lower.hasSuffix(".svg") || lower.hasSuffix(".svgz") { return true }
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        let head = String(decoding: handle.readData(ofLength: 512), as: UTF8.self)
        return head.contains("<svg") || head.hasPrefix("<?xml")
    }
}

/// What the visible label says, how tall it is, where it goes and when it shows: the `--label-*`
/// and `--font` options, with a profile's defaults filled in (``LabelProfile/style(kind:short:)``).
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
    /// When the label shows within each synthetic segment.
    public var timing: LabelTiming
    /// The box's look (caption or EU icon).
    public var look: LabelLook
    /// The operator's own badge, drawn instead of the text when set.
    public var image: LabelImage?

    public init(
        text: String = LabelStyle.defaultText,
        heightFraction: Double = LabelStyle.minimumHeightFraction,
        position: LabelPosition = .topRight,
        fontFile: String? = nil,
        timing: LabelTiming = .continuous,
        look: LabelLook = .caption,
        image: LabelImage? = nil
    ) {
        self.text = text
        self.heightFraction = heightFraction
        self.position = position
        self.fontFile = fontFile
        self.timing = timing
        self.look = look
        self.image = image
    }

    /// ``heightFraction`` as it is applied: at least 5%, at most the whole short side.
    public var effectiveHeightFraction: Double {
        guard heightFraction.isFinite else { return Self.minimumHeightFraction }
        return min(1, max(Self.minimumHeightFraction, heightFraction))
    }
}
