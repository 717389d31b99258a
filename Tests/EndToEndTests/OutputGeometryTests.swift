import Foundation
import Testing
import TestSupport

/// The label is laid out for the frame the encoder receives: when the input turns portrait
/// mid-stream into a landscape output, the label keeps its size (>= 5% of the output's short
/// side) instead of being squeezed with the picture.
@Suite(.serialized) struct OutputGeometryTests {
    @Test(.timeLimit(.minutes(2)))
    func labelKeepsItsSizeWhenTheInputChangesShape() throws {
        let dir = try TestSupport.temporaryDirectory("labelcast-geometry")
        try TestSupport.makeMedia(dir + "/a.ts", seconds: 2, video: "color=c=0x808080:size=640x360:rate=25", extra: ["-c:v", "libx264", "-f", "mpegts"])
        try TestSupport.makeMedia(dir + "/b.ts", seconds: 2, video: "color=c=0x808080:size=360x640:rate=25", extra: ["-c:v", "libx264", "-f", "mpegts"])
        let cat = try TestSupport.run("sh", ["-c", "cat '\(dir)/a.ts' '\(dir)/b.ts' > '\(dir)/in.ts'"])
        #expect(cat.status == 0)
        for (name, extra) in [("labeled", [String]()), ("plain", ["--no-overlay"])] {
            let r = try TestSupport.labelcast(["run", "-i", dir + "/in.ts", "-o", dir + "/\(name).mkv", "--synthetic", "all", "-q"] + extra)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let labeled = try TestSupport.lumaFrames(dir + "/labeled.mkv", width: 640, height: 360)
        let plain = try TestSupport.lumaFrames(dir + "/plain.mkv", width: 640, height: 360)
        #expect(labeled.count >= 95 && labeled.count == plain.count, "\(labeled.count) / \(plain.count) frames")
        guard labeled.count >= 95 else { return }
        let early = try #require(VisibleLabelTests.diffRect(labeled[25], plain[25], width: 640))
        let late = try #require(VisibleLabelTests.diffRect(labeled[75], plain[75], width: 640))
        // Same layout before and after the change (the squeezed label was 56% as tall).
        #expect(abs(late.height - early.height) <= 2 && abs(late.width - early.width) <= 4, "label \(early) at 1 s, \(late) at 3 s")
        // The box holds text of at least 5% of 360 (18 px).
        #expect(late.height >= 18, "\(late)")
    }
}
