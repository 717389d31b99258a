import AudioMark

/// One stretch of video found to carry the mark.
public struct VideoMarkDetection: Sendable, Equatable, CustomStringConvertible {
    /// Seconds on the clock of the times fed to the detector.
    public var start: Double
    public var end: Double
    public var payload: WatermarkPayload
    /// Correlation of the picture with the decoded mark in the strongest window, in standard
    /// deviations (self-normalised over the cells: unmarked video scores ~N(0, 1)).
    public var confidence: Double

    public init(start: Double, end: Double, payload: WatermarkPayload, confidence: Double) {
        self.start = start; self.end = end; self.payload = payload; self.confidence = confidence
    }

    public var description: String {
        String(format: "%.3f-%.3f %@ (z %.1f)", start, end, payload.description, confidence)
    }
}
