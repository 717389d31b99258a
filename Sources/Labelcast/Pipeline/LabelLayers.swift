/// Which labeling layers marked a frame (the gate before the encoder checks that every layer
/// that is on marked each synthetic frame).
public struct LabelLayers: OptionSet, Sendable { public let rawValue: UInt8; public init(rawValue: UInt8) { self.rawValue = rawValue }; public static let overlay = LabelLayers(rawValue: 1); public static let watermark = LabelLayers(rawValue: 2); public static let cue = LabelLayers(rawValue: 4); public static let videoMark = LabelLayers(rawValue: 8) }
