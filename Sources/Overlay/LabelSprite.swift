/// The label rendered for one frame size: a box of `width` × `height` luma pixels at (`x`, `y`)
/// whose background is black at ``boxOpacity`` and whose text is white with anti-aliased
/// ``textCoverage``. A value; compute it once per frame size and reuse it for every frame.
public struct LabelSprite: Sendable, Hashable {
    /// Top-left corner in the frame, in luma pixels; both even.
    public let x: Int
    public let y: Int
    /// Size of the box in luma pixels; both even.
    public let width: Int
    public let height: Int
    /// Text coverage, 0 (box only) to 255 (solid text), row-major, `width` × `height`.
    public let textCoverage: [UInt8]
    /// Opacity of the black box behind the text, 0...1.
    public let boxOpacity: Double
    /// The text as wrapped, one string per line.
    public let lines: [String]
    /// The FreeType pixel size (em height) the text was drawn at.
    public let pixelSize: Int
    /// An image badge's own colours: straight (not premultiplied) sRGB + alpha, 4 bytes per
    /// pixel, row-major. When set it replaces white text on a black box; `textCoverage` then
    /// holds the alpha.
    public let rgba: [UInt8]?
    /// The frame this sprite was laid out for.
    public let frameWidth: Int
    public let frameHeight: Int

    /// 60%: dark enough to carry white text over any picture, light enough to show what is behind.
    public static let defaultBoxOpacity = 0.6

    public init(
        x: Int, y: Int, width: Int, height: Int, textCoverage: [UInt8], boxOpacity: Double = LabelSprite.defaultBoxOpacity,
        lines: [String] = [], pixelSize: Int = 0, frameWidth: Int, frameHeight: Int, rgba: [UInt8]? = nil
    ) {
        precondition(textCoverage.count == width * height, "coverage must hold width × height samples")
        precondition(rgba == nil || rgba!.count == 4 * width * height, "rgba must hold width × height × 4 bytes")
        self.rgba = rgba
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.textCoverage = textCoverage
        self.boxOpacity = boxOpacity
        self.lines = lines
        self.pixelSize = pixelSize
        self.frameWidth = frameWidth
        self.frameHeight = frameHeight
    }
}
