import CRsvg
import Foundation

/// Draws an operator's badge (`--label-image`) into ``LabelSprite``s: a PNG read by cairo
/// (libpng) or an SVG rendered by librsvg, scaled so the badge's text is at least the label's
/// glyph height (GB 45438: 5% of the short side) on each frame size.
///
/// The file is read once at init (start-up), so an unreadable badge fails before streaming.
/// An SVG is re-rendered at each target size (sharp at any scale); a PNG is resampled with
/// cairo's best filter and never enlarged more than ``maximumUpscale`` (beyond that its text
/// would blur, so it is refused as too small).
/// Thread-safety: calls are serialized by an internal lock.
public final class BadgeRenderer: @unchecked Sendable {
    public let image: LabelImage
    /// The badge's own size in pixels (an SVG's intrinsic size at 96 dpi).
    public let naturalWidth: Int
    public let naturalHeight: Int
    /// Text height as a fraction of the badge's height: stated by the operator or measured.
    public let textHeightFraction: Double
    /// A raster badge is enlarged at most this much.
    public static let maximumUpscale = 2.0

    private let lock = NSLock()
    private var png: OpaquePointer?  // cairo_surface_t*
    private var svg: UnsafeMutablePointer<RsvgHandle>?

    /// - Throws: ``OverlayError/Kind/badgeUnreadable`` when the file is not a PNG/SVG it can draw,
    ///   ``OverlayError/Kind/badgeTooSmall`` when no opaque pixels give a text height to measure.
    public init(image: LabelImage) throws {
        self.image = image
        guard FileManager.default.isReadableFile(atPath: image.path) else {
            throw OverlayError.badgeUnreadable(image.path, "does not exist or cannot be read")
        }
        if image.isSVG {
            var error: UnsafeMutablePointer<GError>?
            guard let handle = rsvg_handle_new_from_file(image.path, &error) else {
                let why = error.map { String(cString: $0.pointee.message) } ?? "librsvg cannot parse it"
                if let error { g_error_free(error) }
                throw OverlayError.badgeUnreadable(image.path, "not a valid SVG (\(why))")
            }
            rsvg_handle_set_dpi(handle, 96)
            var w = 0.0, h = 0.0
            if rsvg_handle_get_intrinsic_size_in_pixels(handle, &w, &h) == 0 {
                // No width/height, only a viewBox: take its shape at 512 px tall.
                var viewBox = RsvgRectangle(), hasViewBox: gboolean = 0
                rsvg_handle_get_intrinsic_dimensions(handle, nil, nil, nil, nil, &hasViewBox, &viewBox)
                guard hasViewBox != 0, viewBox.height > 0 else {
                    g_object_unref(UnsafeMutableRawPointer(handle))
                    throw OverlayError.badgeUnreadable(image.path, "the SVG has neither a size nor a viewBox")
                }
                h = 512
                w = 512 * viewBox.width / viewBox.height
            }
            svg = handle
            naturalWidth = max(1, Int(w.rounded()))
            naturalHeight = max(1, Int(h.rounded()))
        } else {
            guard let surface = cairo_image_surface_create_from_png(image.path),
                  cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
                throw OverlayError.badgeUnreadable(image.path, "not a PNG cairo can read")
            }
            png = surface
            naturalWidth = Int(cairo_image_surface_get_width(surface))
            naturalHeight = Int(cairo_image_surface_get_height(surface))
        }
        if let stated = image.textHeightFraction {
            textHeightFraction = stated
        } else {
            // Measure: the rows holding at least half-opaque pixels, at the badge's own size.
            let (w, h) = (naturalWidth, naturalHeight)
            let rgba = try Self.render(png: png, svg: svg, width: w, height: h)
            var first = -1, last = -1
            for y in 0..<h {
                var ink = false
                for x in 0..<w where rgba[4 * (y * w + x) + 3] >= 128 { ink = true; break }
                if ink { if first < 0 { first = y }; last = y }
            }
            guard first >= 0 else {
                throw OverlayError.badgeTooSmall("--label-image \(image.path): no opaque pixels to measure its text height from; pass --label-image-text-height F")
            }
            // A badge opaque from top to bottom (a box behind its text) does not show its text's
            // height: guessing the whole image could leave the text under the 5% minimum.
            guard first > 0 || last < h - 1 else {
                throw OverlayError.badgeTooSmall("--label-image \(image.path): opaque from top to bottom, so its text height cannot be measured from the alpha; pass --label-image-text-height F (the text's share of the image's height)")
            }
            textHeightFraction = Double(last - first + 1) / Double(h)
        }
    }

    deinit {
        if let png { cairo_surface_destroy(png) }
        if let svg { g_object_unref(UnsafeMutableRawPointer(svg)) }
    }

    /// The badge laid out for `layout`'s frame: tall enough that its text reaches
    /// `layout.renderedGlyphHeight`, in the layout's corner.
    /// - Throws: ``OverlayError/Kind/badgeTooSmall`` when that needs a badge larger than the
    ///   frame, or a PNG enlarged more than ``maximumUpscale``.
    public func sprite(for layout: LabelLayout) throws -> LabelSprite {
        try lock.withLock {
            let (width, height) = try size(for: layout)
            let rgba = try Self.render(png: png, svg: svg, width: width, height: height)
            let alpha = (0..<(width * height)).map { rgba[4 * $0 + 3] }
            let origin = layout.origin(spriteWidth: width, spriteHeight: height)
            return LabelSprite(x: origin.x, y: origin.y, width: width, height: height, textCoverage: alpha, boxOpacity: 0,
                               lines: [(image.path as NSString).lastPathComponent], frameWidth: layout.frameWidth,
                               frameHeight: layout.frameHeight, rgba: rgba)
        }
    }

    /// The badge's size on a frame: even sides, text height ≥ the layout's rendered glyph height.
    public func size(for layout: LabelLayout) throws -> (width: Int, height: Int) {
        let target = layout.renderedGlyphHeight
        let needed = Double(target) / textHeightFraction
        let height = (Int(needed.rounded(.up)) + 1) & ~1
        let width = max(2, (Int((Double(height) * Double(naturalWidth) / Double(naturalHeight)).rounded()) + 1) & ~1)
        let frame = "\(layout.frameWidth)x\(layout.frameHeight)"
        let percent = String(format: "%.0f%%", textHeightFraction * 100)
        guard width <= layout.maxSpriteWidth, height <= layout.maxSpriteHeight else {
            throw OverlayError.badgeTooSmall(
                "--label-image \(image.path): its text is \(percent) of its height, so \(target) px of text (\(Int((layout.heightFraction * 100).rounded()))% of a \(frame) frame's short side) needs a \(width)x\(height) badge, larger than the frame; use a badge whose text fills more of it")
        }
        if png != nil, Double(height) > Double(naturalHeight) * Self.maximumUpscale {
            let minimum = Int((needed / Self.maximumUpscale).rounded(.up))
            throw OverlayError.badgeTooSmall(
                "--label-image \(image.path): too small, its text is \(Int((Double(naturalHeight) * textHeightFraction).rounded())) px tall but a \(frame) frame needs \(target) px (GB 45438's 5% of the short side, plus labelcast's margin); supply a PNG at least \(minimum) px tall, or an SVG")
        }
        return (width, height)
    }

    /// Straight-alpha RGBA of the badge drawn at `width` × `height`.
    private static func render(png: OpaquePointer?, svg: UnsafeMutablePointer<RsvgHandle>?, width: Int, height: Int) throws -> [UInt8] {
        guard let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)),
              cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = cairo_create(surface) else {
            throw OverlayError.fontEngine("cairo cannot make a \(width)x\(height) surface")
        }
        defer { cairo_destroy(cr); cairo_surface_destroy(surface) }
        if let png {
            let w = Double(cairo_image_surface_get_width(png)), h = Double(cairo_image_surface_get_height(png))
            cairo_scale(cr, Double(width) / w, Double(height) / h)
            cairo_set_source_surface(cr, png, 0, 0)
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_BEST)
            cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD)
            cairo_paint(cr)
        } else if let svg {
            var viewport = RsvgRectangle(x: 0, y: 0, width: Double(width), height: Double(height))
            var error: UnsafeMutablePointer<GError>?
            guard rsvg_handle_render_document(svg, cr, &viewport, &error) != 0 else {
                let why = error.map { String(cString: $0.pointee.message) } ?? "unknown"
                if let error { g_error_free(error) }
                throw OverlayError.fontEngine("librsvg cannot render the badge: \(why)")
            }
        }
        cairo_surface_flush(surface)
        guard let data = cairo_image_surface_get_data(surface) else { throw OverlayError.fontEngine("cairo gave no pixels") }
        let stride = Int(cairo_image_surface_get_stride(surface))
        var out = [UInt8](repeating: 0, count: 4 * width * height)
        // cairo's ARGB32 is premultiplied, one native-endian 32-bit word per pixel.
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let p = row[x]
                let a = Int(p >> 24), r = Int((p >> 16) & 0xFF), g = Int((p >> 8) & 0xFF), b = Int(p & 0xFF)
                let i = 4 * (y * width + x)
                guard a > 0 else { continue }
                out[i] = UInt8(min(255, (r * 255 + a / 2) / a))
                out[i + 1] = UInt8(min(255, (g * 255 + a / 2) / a))
                out[i + 2] = UInt8(min(255, (b * 255 + a / 2) / a))
                out[i + 3] = UInt8(a)
            }
        }
        return out
    }
}
