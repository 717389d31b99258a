import Foundation

/// An HLS playlist (RFC 8216) as `labelcast inspect` needs it: a master playlist's variants and
/// renditions, or a media playlist's segments (URI, duration, program date), its init segment
/// (`EXT-X-MAP`) and its `EXT-X-DATERANGE`s. Read from untrusted text: every count is bounded,
/// nothing here fetches anything, and what cannot be read is skipped, not guessed.
struct HLSPlaylist: Equatable {
    struct Variant: Equatable {
        var uri: String
        var bandwidth: Int?
        var resolution: String?
        var codecs: String?
    }

    struct Segment: Equatable {
        var uri: String
        var duration: Double
        /// `EXT-X-PROGRAM-DATE-TIME` of this segment: given, or carried on from the previous one.
        var programDate: Date?
        var discontinuity: Bool
    }

    struct DateRange: Equatable {
        var id: String?
        var classValue: String?
        var startDate: Date?
        var duration: Double?
        var endDate: Date?
        /// Every attribute as written (quoted strings unquoted), `X-` ones included.
        var attributes: [String: String]
    }

    var isMaster: Bool { !variants.isEmpty }
    var variants: [Variant] = []
    /// `EXT-X-MEDIA` renditions with a URI (alternative audio and the like).
    var renditions: [Variant] = []
    var segments: [Segment] = []
    /// The `EXT-X-MAP` URI (fMP4 init segment) of the first map.
    var initURI: String?
    var dateRanges: [DateRange] = []
    var endList = false

    /// Most lines, segments or date ranges read from one playlist.
    static let maxLines = 200_000
    static let maxEntries = 20_000

    struct NotAPlaylist: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses a playlist; throws when the text is not one (no `#EXTM3U` first line).
    static func parse(_ text: String) throws -> HLSPlaylist {
        var lines = text.split(omittingEmptySubsequences: true) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }.prefix(maxLines).makeIterator()
        guard let first = lines.next(), first.trimmingCharacters(in: .whitespaces).hasPrefix("#EXTM3U") else {
            throw NotAPlaylist(description: "not an HLS playlist (the first line is not #EXTM3U)")
        }
        var p = HLSPlaylist()
        let dates = DateReader()
        var pendingVariant: [String: String]?
        var duration: Double?
        var date: Date?
        var discontinuity = false
        while let raw = lines.next() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else {
                    if line == "#EXT-X-ENDLIST" { p.endList = true }
                    if line == "#EXT-X-DISCONTINUITY" { discontinuity = true }
                    continue
                }
                let tag = line[..<colon], value = String(line[line.index(after: colon)...])
                switch tag {
                case "#EXT-X-STREAM-INF":
                    pendingVariant = attributes(value)
                case "#EXT-X-MEDIA":
                    let a = attributes(value)
                    if let uri = a["URI"], !uri.isEmpty, p.renditions.count < maxEntries {
                        p.renditions.append(Variant(uri: uri, bandwidth: nil, resolution: nil, codecs: [a["TYPE"], a["NAME"]].compactMap { $0 }.joined(separator: " ")))
                    }
                case "#EXTINF":
                    duration = Double(value.prefix { $0 != "," }.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil } ?? 0
                case "#EXT-X-PROGRAM-DATE-TIME":
                    date = dates.read(value)
                case "#EXT-X-MAP":
                    if p.initURI == nil, let uri = attributes(value)["URI"], !uri.isEmpty { p.initURI = uri }
                case "#EXT-X-DATERANGE":
                    guard p.dateRanges.count < maxEntries else { continue }
                    let a = attributes(value)
                    p.dateRanges.append(DateRange(id: a["ID"], classValue: a["CLASS"], startDate: a["START-DATE"].flatMap(dates.read),
                                                  duration: a["DURATION"].flatMap(Double.init).flatMap { $0.isFinite && $0 >= 0 ? $0 : nil },
                                                  endDate: a["END-DATE"].flatMap(dates.read), attributes: a))
                default:
                    break
                }
                continue
            }
            // A URI line.
            if let v = pendingVariant {
                if p.variants.count < maxEntries {
                    p.variants.append(Variant(uri: line, bandwidth: v["BANDWIDTH"].flatMap { Int($0) }, resolution: v["RESOLUTION"], codecs: v["CODECS"]))
                }
                pendingVariant = nil
            } else if p.segments.count < maxEntries {
                p.segments.append(Segment(uri: line, duration: duration ?? 0, programDate: date, discontinuity: discontinuity))
                // The next segment's date follows on from this one unless the playlist says otherwise.
                if let d = date, let dur = duration { date = d.addingTimeInterval(dur) }
            }
            duration = nil
            discontinuity = false
        }
        return p
    }

    /// An attribute list (`KEY=value,KEY="quoted, string",…`). Quoted values are unquoted;
    /// a key without `=` or an unterminated quote ends the list.
    static func attributes(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        var s = Substring(text)
        while !s.isEmpty, out.count < 256 {
            s = s.drop { $0 == " " || $0 == "," }
            guard let eq = s.firstIndex(of: "=") else { break }
            let key = s[..<eq].trimmingCharacters(in: .whitespaces)
            var rest = s[s.index(after: eq)...]
            let value: Substring
            if rest.first == "\"" {
                rest = rest.dropFirst()
                guard let close = rest.firstIndex(of: "\"") else { break }
                value = rest[..<close]
                s = rest[rest.index(after: close)...]
            } else {
                let end = rest.firstIndex(of: ",") ?? rest.endIndex
                value = rest[..<end]
                s = rest[end...]
            }
            if !key.isEmpty, out[key] == nil { out[key] = String(value) }
        }
        return out
    }

    /// ISO 8601 date-time as HLS writes it (fractional seconds and a zone, `Z` or `±hh:mm` /
    /// `±hhmm`); nil when it is not one.
    static func parseDate(_ text: String) -> Date? { DateReader().read(text) }

    /// The date formatters, made once per playlist: making them is the expensive part (a
    /// playlist of 20,000 date ranges made 60,000 formatters before).
    final class DateReader {
        private let fractional = ISO8601DateFormatter()
        private let whole = ISO8601DateFormatter()
        private let ffmpeg = DateFormatter()
        private let ffmpegWhole = DateFormatter()

        init() {
            fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            whole.formatOptions = [.withInternetDateTime]
            // FFmpeg's hlsenc writes `2026-12-02T04:19:39.123+0000`.
            for (f, format) in [(ffmpeg, "yyyy-MM-dd'T'HH:mm:ss.SSSZ"), (ffmpegWhole, "yyyy-MM-dd'T'HH:mm:ssZ")] {
                f.locale = Locale(identifier: "en_US_POSIX")
                f.dateFormat = format
            }
        }

        func read(_ text: String) -> Date? {
            let t = text.trimmingCharacters(in: .whitespaces)
            guard t.count <= 64 else { return nil }
            return fractional.date(from: t) ?? whole.date(from: t) ?? ffmpeg.date(from: t) ?? ffmpegWhole.date(from: t)
        }
    }

    /// `0x`-prefixed hexadecimal (an `X-` attribute's binary form) as bytes; nil if not hex.
    static func hexBytes(_ text: String) -> [UInt8]? {
        guard text.hasPrefix("0x") || text.hasPrefix("0X") else { return nil }
        let digits = Array(text.utf8.dropFirst(2))
        guard digits.count % 2 == 0, digits.count <= 1 << 20 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(digits.count / 2)
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        var i = 0
        while i < digits.count {
            guard let h = nibble(digits[i]), let l = nibble(digits[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }

    /// `reference` resolved against the playlist's own location (a URL or a file path).
    static func resolve(_ reference: String, against base: String) -> String {
        if reference.contains("://") { return reference }
        if base.contains("://") {
            return URL(string: reference, relativeTo: URL(string: base))?.absoluteString ?? reference
        }
        if reference.hasPrefix("/") { return reference }
        let dir = (base as NSString).deletingLastPathComponent
        return dir.isEmpty ? reference : dir + "/" + reference
    }
}
