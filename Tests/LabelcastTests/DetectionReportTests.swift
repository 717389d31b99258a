import Foundation
import Testing
@testable import Labelcast

/// `labelcast detect`'s output formats (CLI.md): a line per range, `confirmed` after a range
/// that was found by confirmation only; `verified` in the JSON.
@Suite struct DetectionReportTests {
    let report = DetectionReport(duration: 20, segments: [
        .init(start: 1, end: 6.5, payload: "0x000050AC", confidence: 21.25, verified: true),
        .init(start: 9, end: 11, payload: "0x000050AC", confidence: 7.04, verified: false),
    ])

    @Test func linesMarkConfirmedRanges() {
        #expect(report.lines == ["1.000 6.500 0x000050AC 21.2", "9.000 11.000 0x000050AC 7.0 confirmed"])
    }

    @Test func jsonCarriesVerified() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(report), as: UTF8.self)
        #expect(text.contains(#""verified":true"#) && text.contains(#""verified":false"#), "\(text)")
        let back = try JSONDecoder().decode(DetectionReport.self, from: Data(text.utf8))
        #expect(back.segments == report.segments)
    }

    @Test func syncZIsInTheJSONAndFlagsASyncOnlyFind() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let syncOnly = DetectionReport(duration: 1.5, segments: [], syncZ: 7.25)
        let text = String(decoding: try encoder.encode(syncOnly), as: UTF8.self)
        #expect(text == #"{"duration":1.5,"segments":[],"sync_z":7.25}"#)
        #expect(syncOnly.syncOnly)
        #expect(!DetectionReport(duration: 1.5, segments: [], syncZ: 4.9).syncOnly)
        #expect(!report.syncOnly, "a range was read: not a sync-only find")
        // A report written before sync_z existed still decodes.
        let old = try JSONDecoder().decode(DetectionReport.self, from: Data(#"{"duration":2,"segments":[]}"#.utf8))
        #expect(old.syncZ == nil && !old.syncOnly)
    }
}
