/// The label's geometry on one frame size: how tall the glyphs are, how much margin and padding
/// surround them, and where a sprite of a given size goes. Pure arithmetic, no fonts.
///
/// Every position and size it hands out is even, so the label's rectangle maps exactly onto
/// whole chroma samples in 4:2:0 and 4:2:2 frames and nothing outside it is touched.
public struct LabelLayout: Sendable, Hashable {
    public let frameWidth: Int
    public let frameHeight: Int
    public let position: LabelPosition
    /// The height fraction in force (never below 5%, see ``LabelStyle/effectiveHeightFraction``).
    public let heightFraction: Double
    /// Target ink height in pixels of capitals and ideographs: ceil(heightFraction × short side).
    public let glyphHeight: Int
    /// Distance from the label's box to the frame's edges: about 2% of the short side.
    public let margin: Int
    /// Box padding around the text, horizontally and vertically.
    public let paddingX: Int
    public let paddingY: Int
    /// Extra space between wrapped lines.
    public let lineGap: Int
    /// The box's look (opacity, EU-icon frame).
    public let look: LabelLook
    /// Thickness of the EU icon's frame in pixels (0 without one).
    public var outlineWidth: Int { look.outline ? max(2, Int((Double(glyphHeight) / 12).rounded())) : 0 }

    /// - Throws: ``OverlayError/Kind/invalidFrame`` for a frame without pixels.
    public init(frameWidth: Int, frameHeight: Int, style: LabelStyle) throws {
        guard frameWidth >= 2, frameHeight >= 2 else {
            throw OverlayError.invalidFrame("a \(frameWidth)x\(frameHeight) frame is too small to carry a label")
        }
        self.frameWidth = frameWidth
        self.frameHeight = frameHeight
        self.position = style.position
        self.look = style.look
        self.heightFraction = style.effectiveHeightFraction
        let short = Double(min(frameWidth, frameHeight))
        // 720 × 0.05 is 36.000000000000004 in binary; do not let that demand a 37th row.
        glyphHeight = max(1, Int((heightFraction * short - 1e-9).rounded(.up)))
        margin = max(1, Int((0.02 * short).rounded()))
        paddingX = max(2, Int((0.35 * Double(glyphHeight)).rounded()))
        paddingY = max(1, Int((0.25 * Double(glyphHeight)).rounded()))
        lineGap = max(1, Int((0.3 * Double(glyphHeight)).rounded()))
    }

    /// The ink height actually rendered: `glyphHeight` plus a safety margin (4%, at least 2 px),
    /// because anti-aliased edges, chroma subsampling and lossy re-encoding each shave a row off
    /// what a checker measures, and GB 45438's 5% is a floor that must hold after all of them.
    public var renderedGlyphHeight: Int { glyphHeight + max(2, Int((Double(glyphHeight) * 0.04).rounded(.up))) }

    /// Whether the options could still be shrunk to fit more text (for the advice in errors).
    var canShrinkHeight: Bool { heightFraction > LabelStyle.minimumHeightFraction + 1e-9 }

    /// Widest sprite (box included) that fits between the margins, rounded down to even.
    public var maxSpriteWidth: Int { max(0, (frameWidth - 2 * margin) & ~1) }
    /// Tallest sprite (box included) that fits between the margins, rounded down to even.
    public var maxSpriteHeight: Int { max(0, (frameHeight - 2 * margin) & ~1) }

    /// Top-left corner, in luma pixels, of a `width` × `height` sprite placed in ``position``:
    /// ``margin`` from the two nearest edges, moved inward to even coordinates.
    public func origin(spriteWidth width: Int, spriteHeight height: Int) -> (x: Int, y: Int) {
        let x = position.isRight ? frameWidth - margin - width : margin
        let y = position.isBottom ? frameHeight - margin - height : margin
        // Rounding down moves a right/bottom label away from its edge and a left/top one
        // towards it; round the latter up instead so both keep at least the margin.
        func even(_ v: Int, awayFromZero: Bool) -> Int { awayFromZero ? (v + 1) & ~1 : v & ~1 }
        return (even(x, awayFromZero: !position.isRight), even(y, awayFromZero: !position.isBottom))
    }
}
