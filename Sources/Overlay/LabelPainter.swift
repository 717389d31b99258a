import Foundation

/// The video lane's handle on the visible label: one style (text, or the operator's badge),
/// drawn onto whatever frames come.
///
/// Lays out a sprite per frame size and a blender per (size, pixel layout) on first use and
/// caches both (a failure to fit is cached too), so a resolution or format change mid-stream
/// re-lays out once and steady-state frames cost only the blend.
/// Thread-safety: calls are serialized by an internal lock; use it from the lane's serial queue.
public final class LabelPainter: @unchecked Sendable {
    public let style: LabelStyle
    /// Draws the text; nil when the style's badge image is drawn instead.
    public let renderer: LabelRenderer?
    /// Draws `style.image`; nil for a text label.
    public let badge: BadgeRenderer?
    /// How the stream is turned for display: the label is laid out upright on the displayed
    /// picture, then turned back onto the coded one it is drawn on.
    public let orientation: PictureOrientation

    private struct SizeKey: Hashable {
        let width: Int
        let height: Int
    }
    private struct BlendKey: Hashable {
        let size: SizeKey
        let layout: PixelLayout
        let colour: PictureColour
    }
    private let lock = NSLock()
    private var sprites: [SizeKey: Result<LabelSprite, OverlayError>] = [:]
    private var blenders: [BlendKey: Result<LabelBlender, OverlayError>] = [:]
    /// A stream changes size a handful of times at most; this only bounds a pathological one.
    private static let cacheLimit = 16

    /// Resolves the style's fonts or reads its badge: call at start-up so a missing font or an
    /// unreadable badge fails before streaming.
    /// - Throws: ``OverlayError`` (`.uncoveredCharacter`, `.fontUnreadable`, `.emptyText`,
    ///   `.fontEngine`, `.badgeUnreadable`, `.badgeTooSmall`).
    public init(style: LabelStyle, orientation: PictureOrientation = .upright) throws {
        self.style = style
        self.orientation = orientation
        if let image = style.image {
            badge = try BadgeRenderer(image: image)
            renderer = nil
        } else {
            renderer = try LabelRenderer(style: style)
            badge = nil
        }
    }

    /// The sprite for a (coded) frame size, laid out now if new. Call when the decoder's size is known to
    /// surface a label that cannot fit before the first frame.
    /// - Throws: ``OverlayError/Kind/labelDoesNotFit``, ``OverlayError/Kind/invalidFrame``.
    @discardableResult
    public func prepare(width: Int, height: Int) throws -> LabelSprite {
        try lock.withLock { try sprite(SizeKey(width: width, height: height)).get() }
    }

    /// Draws the label onto one frame in place; touches only the label's rectangle.
    /// Planes and line sizes as FFmpeg's `AVFrame.data` / `linesize` (see ``LabelBlender``).
    /// Costs the blend (tens of microseconds at 1080p) plus, on a new size or layout, the layout.
    /// - Throws: ``OverlayError``; the frame is untouched when it throws.
    /// `colour`: the picture's transfer and matrix (white at reference white on PQ/HLG).
    public func paint(planes: [UnsafeMutablePointer<UInt8>], linesizes: [Int], width: Int, height: Int, layout: PixelLayout,
                      colour: PictureColour = .sdr) throws {
        let blender = try lock.withLock { () throws -> LabelBlender in
            let key = BlendKey(size: SizeKey(width: width, height: height), layout: layout, colour: colour)
            if let known = blenders[key] { return try known.get() }
            let made = Self.capture { try LabelBlender(sprite: sprite(key.size).get(), pixelLayout: layout, colour: colour) }
            if blenders.count >= Self.cacheLimit { blenders.removeAll() }
            blenders[key] = made
            return try made.get()
        }
        try blender.blend(planes: planes, linesizes: linesizes, width: width, height: height)
    }

    private func sprite(_ key: SizeKey) -> Result<LabelSprite, OverlayError> {
        if let known = sprites[key] { return known }
        let made = Self.capture {
            let shown = orientation.displaySize(codedWidth: key.width, codedHeight: key.height)
            let layout = try LabelLayout(frameWidth: shown.width, frameHeight: shown.height, style: style)
            let sprite = try badge?.sprite(for: layout) ?? renderer!.sprite(for: layout)
            return orientation.codedSprite(sprite, codedWidth: key.width, codedHeight: key.height)
        }
        if sprites.count >= Self.cacheLimit { sprites.removeAll() }
        sprites[key] = made
        return made
    }

    /// Everything this module throws is an ``OverlayError``; keep it typed in the caches.
    private static func capture<T>(_ body: () throws -> T) -> Result<T, OverlayError> {
        do {
            return .success(try body())
        } catch let error as OverlayError {
            return .failure(error)
        } catch {
            return .failure(.fontEngine("\(error)"))
        }
    }
}
