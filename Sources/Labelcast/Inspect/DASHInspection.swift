import C2PA
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MediaIO

/// The parts of a DASH manifest (MPD) `labelcast inspect` reads: the first period's event
/// streams and, per adaptation set, its first representation's segment addresses
/// (`SegmentTemplate` with `$RepresentationID$`, `$Number$`/`$Number%0Nd$`, `$Time$`,
/// `$Bandwidth$`, by `SegmentTimeline` or by a fixed `duration`). Read from untrusted XML with
/// Foundation's SAX parser: every count is bounded.
struct DASHManifest {
    struct Event { var id: String; var time: Int64; var duration: Int64?; var text: String }
    struct EventStream { var scheme: String; var timescale: Int64; var events: [Event] }
    struct Template {
        var attributes: [String: String] = [:]
        /// (t, d, r) of each `S`.
        var timeline: [(t: Int64?, d: Int64, r: Int)] = []
    }
    struct Representation { var id: String; var bandwidth: String; var template: Template? }
    struct AdaptationSet { var contentType: String; var template: Template?; var representations: [Representation] }

    var eventStreams: [EventStream] = []
    var adaptationSets: [AdaptationSet] = []
    var periods = 0
    /// `mediaPresentationDuration` in seconds.
    var duration: Double?
    var isDynamic = false

    static let maxElements = 200_000, maxEvents = 10_000, maxSegments = 100_000

    struct NotAManifest: Error, CustomStringConvertible { let description: String }

    static func parse(_ bytes: [UInt8]) throws -> DASHManifest {
        let reader = Reader()
        let parser = XMLParser(data: Data(bytes))
        parser.shouldResolveExternalEntities = false
        parser.delegate = reader
        let ok = parser.parse()
        if let error = reader.error { throw NotAManifest(description: error) }
        guard ok, reader.sawMPD else { throw NotAManifest(description: "not a DASH manifest (no MPD element\(ok ? "" : ", or not well-formed XML"))") }
        return reader.manifest
    }

    /// `PT1H2M3.5S` → seconds.
    static func seconds(_ iso: String) -> Double? {
        guard iso.hasPrefix("PT") || iso.hasPrefix("P") else { return nil }
        var total = 0.0, number = "", inTime = false
        for c in iso.dropFirst() {
            switch c {
            case "T": inTime = true
            case "0"..."9", ".": number.append(c)
            case "D": total += (Double(number) ?? 0) * 86_400; number = ""
            case "H" where inTime: total += (Double(number) ?? 0) * 3600; number = ""
            case "M" where inTime: total += (Double(number) ?? 0) * 60; number = ""
            case "S" where inTime: total += Double(number) ?? 0; number = ""
            default: return nil
            }
        }
        return total
    }

    /// The init segment and media segment addresses of `representation` (relative as the
    /// manifest gives them), at most `maxSegments`.
    func segments(of set: AdaptationSet, _ rep: Representation) -> (initialization: String?, media: [String])? {
        guard let template = rep.template ?? set.template else { return nil }
        var a = set.template?.attributes ?? [:]
        a.merge(rep.template?.attributes ?? [:]) { _, mine in mine }
        let timeline = rep.template?.timeline.isEmpty == false ? rep.template!.timeline : (set.template?.timeline ?? template.timeline)
        func fill(_ pattern: String, number: Int64, time: Int64) -> String {
            var out = "", i = pattern.startIndex
            while i < pattern.endIndex {
                guard pattern[i] == "$", let close = pattern[pattern.index(after: i)...].firstIndex(of: "$") else { out.append(pattern[i]); i = pattern.index(after: i); continue }
                let name = pattern[pattern.index(after: i)..<close]
                let parts = name.split(separator: "%", maxSplits: 1)
                let width = parts.count == 2 ? Int(parts[1].dropFirst(0).filter(\.isNumber)) ?? 0 : 0
                func padded(_ v: Int64) -> String { let s = String(v); return String(repeating: "0", count: max(0, width - s.count)) + s }
                switch parts.first.map(String.init) ?? "" {
                case "": out += "$"
                case "RepresentationID": out += rep.id
                case "Number": out += padded(number)
                case "Time": out += padded(time)
                case "Bandwidth": out += padded(Int64(rep.bandwidth) ?? 0)
                default: out += "$" + name + "$"
                }
                i = pattern.index(after: close)
            }
            return out
        }
        let start = Int64(a["startNumber"] ?? "1") ?? 1
        var media: [String] = []
        if let pattern = a["media"] {
            if !timeline.isEmpty {
                var t: Int64 = 0, n = start
                for s in timeline {
                    if let st = s.t { t = st }
                    for _ in 0...max(0, s.r) where media.count < Self.maxSegments {
                        media.append(fill(pattern, number: n, time: t))
                        t += s.d
                        n += 1
                    }
                }
            } else if let d = Double(a["duration"] ?? ""), d > 0, let total = duration {
                let scale = Double(a["timescale"] ?? "1") ?? 1
                let count = min(Self.maxSegments, Int((total * scale / d).rounded(.up)))
                for k in 0..<count { media.append(fill(pattern, number: start + Int64(k), time: Int64(Double(k) * d))) }
            }
        }
        return (a["initialization"].map { fill($0, number: start, time: 0) }, media)
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var manifest = DASHManifest()
        var sawMPD = false
        var error: String?
        private var elements = 0
        private var path: [String] = []
        private var text = ""
        private var inFirstPeriod = false

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes a: [String: String] = [:]) {
            elements += 1
            if elements > DASHManifest.maxElements { error = "more than \(DASHManifest.maxElements) XML elements"; parser.abortParsing(); return }
            let local = name.split(separator: ":").last.map(String.init) ?? name
            defer { path.append(local) }
            switch local {
            case "MPD" where path.isEmpty:
                sawMPD = true
                manifest.duration = a["mediaPresentationDuration"].flatMap(DASHManifest.seconds)
                manifest.isDynamic = a["type"] == "dynamic"
            case "Period":
                manifest.periods += 1
                inFirstPeriod = manifest.periods == 1
            case "EventStream" where inFirstPeriod && path.last == "Period":
                manifest.eventStreams.append(EventStream(scheme: a["schemeIdUri"] ?? "", timescale: max(1, Int64(a["timescale"] ?? "1") ?? 1), events: []))
            case "Event" where inFirstPeriod && path.last == "EventStream":
                guard !manifest.eventStreams.isEmpty, manifest.eventStreams.map(\.events.count).reduce(0, +) < DASHManifest.maxEvents else { return }
                manifest.eventStreams[manifest.eventStreams.count - 1].events.append(
                    Event(id: a["id"] ?? "", time: Int64(a["presentationTime"] ?? "0") ?? 0, duration: a["duration"].flatMap { Int64($0) }, text: ""))
                text = ""
            case "AdaptationSet" where inFirstPeriod:
                manifest.adaptationSets.append(AdaptationSet(contentType: a["contentType"] ?? a["mimeType"] ?? "", template: nil, representations: []))
            case "Representation" where inFirstPeriod && !manifest.adaptationSets.isEmpty:
                manifest.adaptationSets[manifest.adaptationSets.count - 1].representations.append(
                    Representation(id: a["id"] ?? "", bandwidth: a["bandwidth"] ?? "0", template: nil))
            case "SegmentTemplate" where inFirstPeriod && !manifest.adaptationSets.isEmpty:
                let i = manifest.adaptationSets.count - 1
                if path.last == "Representation", !manifest.adaptationSets[i].representations.isEmpty {
                    manifest.adaptationSets[i].representations[manifest.adaptationSets[i].representations.count - 1].template = Template(attributes: a)
                } else if path.last == "AdaptationSet" {
                    manifest.adaptationSets[i].template = Template(attributes: a)
                }
            case "S" where inFirstPeriod && path.last == "SegmentTimeline" && !manifest.adaptationSets.isEmpty:
                let s = (t: a["t"].flatMap { Int64($0) }, d: Int64(a["d"] ?? "0") ?? 0, r: min(DASHManifest.maxSegments, Int(a["r"] ?? "0") ?? 0))
                let i = manifest.adaptationSets.count - 1
                if path.dropLast(2).last == "Representation", !manifest.adaptationSets[i].representations.isEmpty {
                    let j = manifest.adaptationSets[i].representations.count - 1
                    manifest.adaptationSets[i].representations[j].template?.timeline.append(s)
                } else {
                    manifest.adaptationSets[i].template?.timeline.append(s)
                }
            default:
                break
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if path.last == "Event", text.count < 1 << 20 { text += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            let local = name.split(separator: ":").last.map(String.init) ?? name
            if local == "Event", inFirstPeriod, let s = manifest.eventStreams.indices.last, let e = manifest.eventStreams[s].events.indices.last,
               manifest.eventStreams[s].events[e].text.isEmpty {
                manifest.eventStreams[s].events[e].text = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if local == "Period" { inFirstPeriod = false }
            _ = path.popLast()
        }
    }
}

/// DASH in `labelcast inspect`: what labelcast writes into a DASH output besides the media
/// (which FFmpeg's DASH demuxer reads as for any file: container tags, watermarks):
/// - the MPD's `EventStream` of scheme `urn:org.labelcast:aigc:2026` (`SegmentMarking`), an
///   `Event` per synthetic range holding the AIGC JSON, as timed AIGC ranges;
/// - each adaptation set's first representation, its init segment and media segments fetched
///   in order: the segments' `emsg` ID3 (`TXXX AIGC`), and C2PA — the init segment's manifest
///   validated with each media segment and their order checked (`SegmentedC2PACheck`), one
///   layer per representation.
struct DASHInspection {
    let source: String
    let display: String
    let maxBytes: Int64
    let fetch: HLSInspection.Fetch
    var trustPEM: String? = nil

    struct Result {
        var layers: [InspectionReport.Layer]
        var notes: [String]
        /// C2PA layers, one per signed representation (empty when none carried a manifest).
        var c2pa: [InspectionReport.Layer]
    }

    /// Whether `input` names a DASH manifest: `.mpd` at the end of its path.
    static func isManifest(_ input: String) -> Bool {
        let lower = input.lowercased()
        let path = lower.split(separator: "?", maxSplits: 1).first.map(String.init) ?? lower
        return path.hasSuffix(".mpd")
    }

    func run() throws -> Result {
        let manifest: DASHManifest
        do { manifest = try DASHManifest.parse(try fetch(source, 16 << 20)) } catch let e as DASHManifest.NotAManifest {
            throw LabelcastError("DASH manifest '\(display)': \(e.description): give an .mpd manifest")
        }
        var notes: [String] = []
        if manifest.periods > 1 { notes.append("DASH: \(manifest.periods) periods; the first was read") }
        if manifest.isDynamic { notes.append("live DASH manifest (type dynamic): the segments it lists now were read") }
        var layers: [InspectionReport.Layer] = []
        // The manifest's own AIGC events.
        var byValue: [(value: String, ranges: [InspectionReport.TimeRange])] = []
        for stream in manifest.eventStreams where stream.scheme == SegmentMarking.eventScheme {
            for e in stream.events {
                let start = Double(e.time) / Double(stream.timescale)
                let end = e.duration.map { start + Double($0) / Double(stream.timescale) } ?? max(start, manifest.duration ?? start)
                let range = InspectionReport.TimeRange(start: max(0, start), end: max(0, start, end))
                if let i = byValue.firstIndex(where: { $0.value == e.text }) { byValue[i].ranges.append(range) } else { byValue.append((e.text, [range])) }
            }
        }
        layers += byValue.map { Inspector.aigcLayer(place: "DASH MPD EventStream (\(SegmentMarking.eventScheme))", key: AIGCMetadata.tagName, value: $0.value, timed: true, ranges: $0.ranges) }

        // The segments, per adaptation set (its first representation).
        var c2paLayers: [InspectionReport.Layer] = []
        var left = maxBytes
        let library = try? C2PALibrary.shared()
        var anySigned = false
        for set in manifest.adaptationSets.prefix(16) {
            guard let rep = set.representations.first else { continue }
            if set.representations.count > 1 { notes.append("DASH: adaptation set '\(set.contentType)' has \(set.representations.count) representations; the first ('\(rep.id)') was read for emsg and C2PA") }
            guard let addresses = manifest.segments(of: set, rep), !addresses.media.isEmpty else {
                notes.append("DASH: representation '\(rep.id)' has no SegmentTemplate labelcast can list (SegmentBase/SegmentList are not read): its emsg and C2PA were not checked")
                continue
            }
            var tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)] = [:]
            var c2pa: SegmentedC2PACheck?
            if let i = addresses.initialization {
                let bytes = try fetch(HLSPlaylist.resolve(i, against: source), left)
                left -= Int64(bytes.count)
                tracks = BMFFBox.trackTimescales(initSegment: bytes)
                if FragmentedBMFF.hasC2PABox(bytes) { c2pa = SegmentedC2PACheck(initSegment: bytes, trustPEM: trustPEM); anySigned = true }
            }
            var emsg = EmsgRanges()
            var read = 0
            for (position, uri) in addresses.media.enumerated() {
                guard left > 0 else { break }
                let bytes = try fetch(HLSPlaylist.resolve(uri, against: source), left)
                left -= Int64(bytes.count)
                emsg.add(segment: bytes, tracks: tracks)
                if c2pa != nil { c2pa!.add(position: position, uri: uri, bytes: bytes) }
                read += 1
            }
            if read < addresses.media.count { notes.append("DASH: representation '\(rep.id)': \(read) of \(addresses.media.count) segments read (the size limit)") }
            // The same events are in every representation (their ranges differ by the tracks'
            // segment edges): one layer per value, from the first representation carrying it.
            for layer in emsg.layers(place: "fMP4 emsg ID3 (TXXX AIGC)", listedDuration: manifest.duration ?? 0)
            where !layers.contains(where: { $0.place == layer.place && $0.value == layer.value }) {
                layers.append(layer)
            }
            if let c2pa, let library, var layer = c2pa.layer(endList: !manifest.isDynamic && read == addresses.media.count, library: library.versionString) {
                layer.place = "C2PA manifest (DASH representation '\(rep.id)', \(set.contentType): fMP4 init segment, \(c2pa.entries.count) media segment\(c2pa.entries.count == 1 ? "" : "s") validated one by one)"
                c2paLayers.append(layer)
            }
        }
        if anySigned, library == nil { notes.append("C2PA not checked: the C2PA library was not found (`make deps`, or LABELCAST_C2PA_LIB)") }
        return Result(layers: layers, notes: notes, c2pa: c2paLayers)
    }
}
