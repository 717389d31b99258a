import Foundation

/// The output's chapters: the input's own, with labelcast's synthetic segments merged in
/// (never replacing them).
///
/// MP4/MOV chapters tile the timeline (a text track whose samples follow each other), so there
/// the timeline is cut at every boundary of either list and each piece is titled by the input
/// chapter it lies in, prefixed with the label text where it is synthetic ("AI生成 · Part 2").
/// Matroska chapters may overlap: the input's are kept as they are and one chapter per
/// segment is added.
enum ChapterPlan {
    typealias Chapter = (start: Double, end: Double, title: String)

    static func merge(input: [Chapter], segments: [(start: Double, end: Double)], labelTitle: String,
                      contiguous: Bool, end: Double) -> [Chapter] {
        let inputs = input.map { (start: max(0, $0.start), end: min(end, $0.end), title: $0.title) }
            .filter { $0.end > $0.start + 1e-6 }.sorted { $0.start < $1.start }
        let segs = segments.map { (start: max(0, $0.start), end: min(end, $0.end)) }.filter { $0.end > $0.start + 1e-6 }
        guard contiguous else {
            return (inputs + segs.map { (start: $0.start, end: $0.end, title: labelTitle) }).sorted { $0.start < $1.start }
        }
        guard !inputs.isEmpty || !segs.isEmpty else { return [] }
        var cuts = Set([0.0, end])
        for c in inputs { cuts.insert(c.start); cuts.insert(c.end) }
        for s in segs { cuts.insert(s.start); cuts.insert(s.end) }
        let points = cuts.sorted()
        var out: [(Chapter, key: String)] = []
        for (a, b) in zip(points, points.dropFirst()) where b > a + 1e-6 {
            let mid = (a + b) / 2
            let chapter = inputs.lastIndex { $0.start <= mid && mid < $0.end }
            let synthetic = segs.contains { $0.start <= mid && mid < $0.end }
            let inputTitle = chapter.map { inputs[$0].title } ?? ""
            // An input labeled before (by labelcast upstream) already names the label.
            let title = !synthetic || inputTitle.hasPrefix(labelTitle) ? inputTitle
                : (inputTitle.isEmpty ? labelTitle : "\(labelTitle) · \(inputTitle)")
            let key = "\(chapter ?? -1)/\(synthetic)"
            if let last = out.last, last.key == key, abs(last.0.end - a) < 1e-6 {
                out[out.count - 1].0.end = b
            } else {
                out.append(((a, b, title), key))
            }
        }
        // A sliver left at the end (the input's last chapter ends a frame before the stream)
        // joins the chapter before it rather than show as a chapter of its own.
        if out.count > 1, let last = out.last, last.0.end - last.0.start < 0.25, last.0.title.isEmpty {
            out.removeLast()
            out[out.count - 1].0.end = last.0.end
        }
        return out.map(\.0)
    }
}
