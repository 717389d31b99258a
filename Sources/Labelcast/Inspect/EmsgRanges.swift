import Foundation
import MediaIO

/// labelcast's `emsg` ID3 events (`TXXX AIGC`, scheme `SegmentMarking.emsgScheme`) gathered
/// over a run of fMP4 media segments (an HLS-fMP4 playlist, a DASH representation), which
/// libavformat skips, into timed AIGC layers. labelcast repeats an open range's event in
/// every segment it covers, so an event is one range by its id; a copy written after the
/// range closed has the duration the first copies lacked (0xFFFFFFFF).
struct EmsgRanges {
    private var events: [UInt32: (value: String, start: Double, end: Double?)] = [:]
    private var lastCarried: [UInt32: Double] = [:]
    /// The media start of the first segment: events are placed from it.
    private(set) var firstSegmentStart: Double?
    static let maxEvents = 4096

    /// One media segment's bytes, with the init segment's track time scales.
    mutating func add(segment bytes: [UInt8], tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)]) {
        let span = BMFFBox.segmentSpan(bytes, tracks: tracks)
        if firstSegmentStart == nil { firstSegmentStart = span?.start }
        for e in EmsgEvent.all(in: bytes) where e.scheme == SegmentMarking.emsgScheme {
            // An event of unknown duration holds to the end of the last segment carrying it.
            if let end = span?.end, lastCarried.count < Self.maxEvents { lastCarried[e.id] = end }
            guard let value = TimedID3.textValue(in: e.messageData, description: AIGCMetadata.tagName), let start = e.startSeconds else { continue }
            if let known = events[e.id] {
                if known.end == nil, let d = e.durationSeconds { events[e.id]?.end = known.start + d }
            } else if events.count < Self.maxEvents {
                events[e.id] = (value, start, e.durationSeconds.map { start + $0 })
            }
        }
    }

    /// One layer per distinct value, its ranges on the media timeline (from the first
    /// segment's start); an open range ends with the last segment carrying it, else at
    /// `listedDuration`.
    func layers(place: String, listedDuration: Double) -> [InspectionReport.Layer] {
        guard !events.isEmpty else { return [] }
        let origin = firstSegmentStart ?? 0
        var byValue: [String: [InspectionReport.TimeRange]] = [:]
        for (id, e) in events.sorted(by: { $0.value.start < $1.value.start }) {
            let start = max(0, e.start - origin)
            let end = e.end ?? lastCarried[id] ?? (origin + listedDuration)
            byValue[e.value, default: []].append(InspectionReport.TimeRange(start: start, end: max(start, end - origin)))
        }
        return byValue.sorted(by: { ($0.value.first?.start ?? 0) < ($1.value.first?.start ?? 0) }).map { value, ranges in
            Inspector.aigcLayer(place: place, key: AIGCMetadata.tagName, value: value, timed: true, ranges: ranges)
        }
    }
}
