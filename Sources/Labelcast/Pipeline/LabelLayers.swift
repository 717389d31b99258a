/// The labeling layers a frame can carry. A processor inserts its layer into
/// `LaneFrame.layers` when it actually applied it; the gate before each encoder (`LabelGate`)
/// requires every layer that is on for the lane on every synthetic frame.
public struct LabelLayers: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// The visible label burnt into the picture.
    public static let overlay = LabelLayers(rawValue: 1)
    /// The inaudible audio watermark.
    public static let watermark = LabelLayers(rawValue: 2)
    /// The audible cue (rhythm or spoken prompt).
    public static let cue = LabelLayers(rawValue: 4)
    /// The invisible video watermark.
    public static let videoMark = LabelLayers(rawValue: 8)

    public var description: String {
        let names: [(LabelLayers, String)] = [(.overlay, "overlay"), (.watermark, "watermark"), (.cue, "cue"), (.videoMark, "video-mark")]
        let on = names.filter { contains($0.0) }.map(\.1)
        return on.isEmpty ? "none" : on.joined(separator: "+")
    }
}
