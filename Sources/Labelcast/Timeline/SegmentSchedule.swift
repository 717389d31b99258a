import Foundation

/// One synthetic range of media time, in seconds from the stream start. `end == nil` runs to
/// the end of the stream. Half-open: `start` is synthetic, `end` is not.
public struct SyntheticRange: Sendable, Equatable, Codable, CustomStringConvertible {
    public var start: Double
    public var end: Double?
    /// Who decided it: `schedule`, `control` (with the client's address), `metadata`, `all`.
    /// Not part of equality: two ranges over the same time are the same range.
    public var source: String?
    public init(start: Double, end: Double? = nil, source: String? = nil) { self.start = start; self.end = end; self.source = source }
    public static func == (a: SyntheticRange, b: SyntheticRange) -> Bool { a.start == b.start && a.end == b.end }
    /// A nanosecond: a frame whose media time is a boundary's value computed another way
    /// (pts × time base − origin, one rounding off) is on the same side as the boundary says.
    public static let tolerance = 1e-9
    public func contains(_ t: Double) -> Bool {
        t >= start - Self.tolerance && (end.map { t < $0 - Self.tolerance } ?? true)
    }
    public var description: String {
        "\(SyntheticRange.format(start))-\(end.map(SyntheticRange.format) ?? "")"
    }
    static func format(_ v: Double) -> String {
        // Whole seconds without ".0"; anything Int64 cannot hold exactly (1e300 is a valid,
        // finite time) as the Double itself rather than trapping in the conversion.
        Int64(exactly: v).map { String($0) } ?? String(v)
    }
}

/// A schedule that could not be used: says which entry and why, and how to fix it.
public struct ScheduleError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parsing and strict validation of synthetic schedules (`--segments`, `--segments-file`).
public enum SegmentSchedule {
    /// Parses `5-12.5,30-` (ranges in seconds; an open end runs to the end of the stream).
    public static func parse(list: String) throws -> [SyntheticRange] {
        let trimmed = list.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw ScheduleError("--segments is empty: give ranges like '5-12.5,30-'") }
        var ranges: [SyntheticRange] = []
        for (i, raw) in trimmed.split(separator: ",", omittingEmptySubsequences: false).enumerated() {
            let item = raw.trimmingCharacters(in: .whitespaces)
            let where_ = "segment \(i + 1) '\(item)'"
            guard !item.isEmpty else { throw ScheduleError("\(where_): empty entry (check for a doubled or trailing comma)") }
            guard let dash = item.firstIndex(of: "-"), dash != item.startIndex else {
                if item.hasPrefix("-") { throw ScheduleError("\(where_): negative or missing start; times count from 0 at the stream start") }
                throw ScheduleError("\(where_): expected START-END or START- (seconds), e.g. 5-12.5")
            }
            let startText = String(item[..<dash]).trimmingCharacters(in: .whitespaces)
            let endText = String(item[item.index(after: dash)...]).trimmingCharacters(in: .whitespaces)
            guard let start = number(startText) else { throw ScheduleError("\(where_): start '\(startText)' is not a number of seconds") }
            var end: Double? = nil
            if !endText.isEmpty {
                guard let e = number(endText) else { throw ScheduleError("\(where_): end '\(endText)' is not a number of seconds") }
                end = e
            }
            ranges.append(SyntheticRange(start: start, end: end))
        }
        try validate(ranges)
        return ranges
    }

    private struct File: Decodable {
        struct Entry: Decodable { let start: Double?; let end: Double? }
        let segments: [Entry]?
    }

    /// Parses `{"segments":[{"start":5,"end":12.5},{"start":30}]}`.
    public static func parse(json data: Data, source: String = "segments file") throws -> [SyntheticRange] {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch let error as DecodingError {
            throw ScheduleError("\(source): not valid schedule JSON (\(describe(error))); expected {\"segments\":[{\"start\":5,\"end\":12.5}]}")
        } catch {
            throw ScheduleError("\(source): cannot read (\(error.localizedDescription))")
        }
        guard let entries = file.segments else { throw ScheduleError("\(source): missing \"segments\" array; expected {\"segments\":[{\"start\":5,\"end\":12.5}]}") }
        var ranges: [SyntheticRange] = []
        for (i, e) in entries.enumerated() {
            guard let start = e.start else { throw ScheduleError("\(source): segment \(i + 1) has no \"start\"") }
            ranges.append(SyntheticRange(start: start, end: e.end))
        }
        try validate(ranges, source: source)
        return ranges
    }

    /// Reads and parses a schedule file.
    public static func load(file path: String) throws -> [SyntheticRange] {
        guard let data = FileManager.default.contents(atPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ScheduleError(exists ? "segments file '\(path)' cannot be read (check permissions)" : "segments file '\(path)' does not exist")
        }
        guard data.count <= 16 << 20 else { throw ScheduleError("segments file '\(path)' is larger than 16 MiB; that is not a schedule") }
        return try parse(json: data, source: "segments file '\(path)'")
    }

    /// Rejects negative, reversed, empty, non-finite, unsorted or overlapping ranges, saying which.
    public static func validate(_ ranges: [SyntheticRange], source: String = "--segments") throws {
        for (i, r) in ranges.enumerated() {
            let name = "\(source): segment \(i + 1) (\(r))"
            guard r.start.isFinite else { throw ScheduleError("\(name): start is not a finite number") }
            guard r.start >= 0 else { throw ScheduleError("\(name): negative start; times count from 0 at the stream start") }
            if let end = r.end {
                guard end.isFinite else { throw ScheduleError("\(name): end is not a finite number") }
                guard end > r.start else { throw ScheduleError("\(name): end is not after start (reversed or empty range)") }
            }
            if i > 0 {
                let prev = ranges[i - 1]
                guard r.start >= prev.start else {
                    throw ScheduleError("\(name): starts before segment \(i) (\(prev)); list segments in time order")
                }
                guard let prevEnd = prev.end else {
                    throw ScheduleError("\(name): overlaps segment \(i) (\(prev)), which runs to the end of the stream")
                }
                guard r.start >= prevEnd else { throw ScheduleError("\(name): overlaps segment \(i) (\(prev))") }
            }
        }
    }

    private static func number(_ s: String) -> Double? {
        guard !s.isEmpty, s.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(s), v.isFinite else { return nil }
        return v
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            var path = c.codingPath.map { key -> String in key.intValue.map { "[\($0)]" } ?? ".\(key.stringValue)" }.joined()
            if path.hasPrefix(".") { path.removeFirst() }
            return path.isEmpty ? c.debugDescription : "at \(path): \(c.debugDescription)"
        case .dataCorrupted(let c): return c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}
